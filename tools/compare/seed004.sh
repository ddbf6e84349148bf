#!/usr/bin/env bash
# Seed 004's comparison, measured (issue #20): the continuous, discrete and joint VAEs on coloured
# MNIST side by side (the joint one also with the discrete VAE's 20 x 10 categorical part, so that
# the two differ by the continuous part only), the joint model with and without a small labelled fraction, how often
# `--digit D` / `--colour C` samples show what was asked (judged by the project's classifier,
# latentkit-judge), and the discrete VAE on binarised grey MNIST beside Jang et al. (2017).
#
#   tools/compare/seed004.sh [--epochs 30] [--labelled 0.01] [--samples 1000] [--threads 1]
#       [--runs runs/seed004] [--build build/default]
#
# Each model is a run folder RUNS/NAME; a run whose checkpoint exists is reused, not trained again
# (delete it to retrain). The judge is RUNS/judge.pt (trained once, 4 epochs). Every figure comes
# from the test set or from fixed-seed prior samples:
#   negative ELBO and its terms   nats per image, the run's last metrics.csv line (the trainer's
#                                 evaluation of the whole test split, one posterior sample each)
#   control                       latentkit-judge control on the exported fp32 file (XNNPACK),
#                                 --samples prior samples per label, seed 0
# Writes RUNS/table.md (the losses), RUNS/NAME.control.txt and .json, and RUNS/NAME.lkm.
set -euo pipefail

die() { echo "seed004.sh: $*" >&2; exit 2; }
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

epochs=30 labelled=0.01 samples=1000 threads=1 runs=runs/seed004 build="$root/build/default"
while [ $# -gt 0 ]; do
  case "$1" in
    --epochs) epochs="$2"; shift 2 ;;
    --labelled) labelled="$2"; shift 2 ;;
    --samples) samples="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
latentkit="$build/tools/latentkit" judge="$build/tools/latentkit-judge"
[ -x "$latentkit" ] && [ -x "$judge" ] || die "no $latentkit or $judge: build the default preset first"
[[ $epochs =~ ^[1-9][0-9]*$ ]] || die "--epochs '$epochs' is not a positive whole number"
mkdir -p "$runs"

train() {  # NAME FAMILY ARGS...
  local name="$1"; shift
  if [ -f "$runs/$name/checkpoint.pt" ]; then
    echo "seed004.sh: reusing $runs/$name" >&2
  else
    "$latentkit" train "$@" --epochs "$epochs" --threads "$threads" --out "$runs/$name" > "$runs/$name.log" 2>&1 ||
      die "training $name failed: see $runs/$name.log"
  fi
}

train mlp-vae mlp-vae --data coloured-mnist
train discrete-vae discrete-vae --data coloured-mnist
train joint-vae joint-vae --data coloured-mnist
train joint-vae-20x10 joint-vae --data coloured-mnist --categorical 20x10
train joint-vae-labelled joint-vae --data coloured-mnist --labelled "$labelled"
train discrete-vae-grey discrete-vae --data mnist --binarize dynamic --categorical 20x10

[ -f "$runs/judge.pt" ] || "$judge" train --out "$runs/judge.pt" --epochs 4 --threads "$threads" > "$runs/judge.log" 2>&1 ||
  die "training the judge failed: see $runs/judge.log"

# The last epoch's test figures, in metrics.csv's column order.
last_figures() { tail -n 1 "$runs/$1/metrics.csv"; }
{
  echo "| model | data | latent | negative ELBO | reconstruction | KL continuous | KL discrete |"
  echo "|---|---|---|---|---|---|---|"
  for row in "mlp-vae|coloured-mnist|z 2" "discrete-vae|coloured-mnist|20 x 10 categorical" \
             "joint-vae|coloured-mnist|z 2 + 2 x 10 categorical" \
             "joint-vae-20x10|coloured-mnist|z 2 + 20 x 10 categorical" \
             "joint-vae-labelled|coloured-mnist, $labelled labelled|z 2 + 2 x 10 categorical" \
             "discrete-vae-grey|mnist, dynamically binarised|20 x 10 categorical"; do
    IFS='|' read -r name data latent <<< "$row"
    IFS=',' read -r _epoch _train loss reconstruction kl_c kl_d _rest <<< "$(last_figures "$name")"
    printf '| %s | %s | %s | %.2f | %.2f | %.2f | %.2f |\n' "$name" "$data" "$latent" "$loss" "$reconstruction" "$kl_c" "$kl_d"
  done
} > "$runs/table.md"
cat "$runs/table.md"

for name in discrete-vae joint-vae joint-vae-labelled; do
  "$latentkit" export "$runs/$name" -o "$runs/$name.lkm" > /dev/null
  "$judge" control "$runs/$name.lkm" --judge "$runs/judge.pt" --samples "$samples" --threads "$threads" > "$runs/$name.control.txt" ||
    echo "seed004.sh: $name: $(tail -n 1 "$runs/$name.control.txt")" >&2
  "$judge" control "$runs/$name.lkm" --judge "$runs/judge.pt" --samples "$samples" --threads "$threads" --json > "$runs/$name.control.json" || true
  echo; echo "== $name"; cat "$runs/$name.control.txt"
done
