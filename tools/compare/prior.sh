#!/usr/bin/env bash
# Better samples from the same decoder (issue #23), measured: for the CVAE at latent 2 and 20 and
# the plain and sparse autoencoders (code 20), the N(0, I) prior beside Gaussian mixtures fitted
# to the training set's codes at export (`latentkit export --prior gmm:K`), each scored by the
# project's classifier (latentkit-judge score: Fréchet distance of its features against the test
# set, classifier score, the share of each digit), and a picture of each file's samples.
#
#   tools/compare/prior.sh [--components "10 50 auto"] [--samples 10000] [--threads 1] [--runs runs/prior]
#       [--build build/default]
#
# Each model is a run folder RUNS/NAME trained with the default schedule (seed 1); a run whose
# checkpoint exists is reused, not trained again (delete it to retrain). The judge is RUNS/judge.pt
# (trained once, 4 epochs, as seed004.sh trains it). Writes RUNS/NAME-PRIOR.lkm, .score.txt,
# .score.json and .png (64 samples, seed 0), and RUNS/table.md.
set -euo pipefail

die() { echo "prior.sh: $*" >&2; exit 2; }
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

components="10 50 auto" samples=10000 threads=1 runs=runs/prior build="$root/build/default"
while [ $# -gt 0 ]; do
  case "$1" in
    --components) components="$2"; shift 2 ;;
    --samples) samples="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
latentkit="$build/tools/latentkit" judge="$build/tools/latentkit-judge" sample="$build/tools/latentkit-sample"
[ -x "$latentkit" ] && [ -x "$judge" ] && [ -x "$sample" ] || die "no latentkit tools in $build: build the default preset first"
for k in $components; do [[ $k =~ ^([1-9][0-9]*|auto)$ ]] || die "--components: '$k' is not a positive whole number or auto"; done
mkdir -p "$runs"

train() {  # NAME FAMILY ARGS...
  local name="$1"; shift
  if [ -f "$runs/$name/checkpoint.pt" ]; then
    echo "prior.sh: reusing $runs/$name" >&2
  else
    "$latentkit" train "$@" --seed 1 --threads "$threads" --out "$runs/$name" > "$runs/$name.log" 2>&1 ||
      die "training $name failed: see $runs/$name.log"
  fi
}
train cvae-z2 cvae --latent 2
train cvae-z20 cvae --latent 20
train ae-z20 ae --latent 20
train sae-z20 sae --latent 20
[ -f "$runs/judge.pt" ] || "$judge" train --out "$runs/judge.pt" --epochs 4 --threads "$threads" > "$runs/judge.log" 2>&1 ||
  die "training the judge failed: see $runs/judge.log"

score() {  # NAME PRIOR (normal or gmm:K)
  local file="$runs/$1-${2/:/}"
  "$latentkit" export "$runs/$1" -o "$file.lkm" --prior "$2" > "$file.export.txt" || die "export of $1 --prior $2 failed"
  "$judge" score "$file.lkm" --judge "$runs/judge.pt" --samples "$samples" --threads "$threads" --json > "$file.score.json"
  "$judge" score "$file.lkm" --judge "$runs/judge.pt" --samples "$samples" --threads "$threads" > "$file.score.txt"
  "$sample" "$file.lkm" sample -n 64 --seed 0 -o "$file.png" > /dev/null
}
for name in cvae-z2 cvae-z20 ae-z20 sae-z20; do
  score "$name" normal
  for k in $components; do score "$name" "gmm:$k"; done
done

python3 - "$runs" $components > "$runs/table.md" <<'PY'
import json, sys
runs, components = sys.argv[1], sys.argv[2:]
print("| model | prior | Fréchet distance | vs N(0, I) | classifier score | rarest digit (share) | decoded test codes: FD, rarest digit |")
print("|---|---|---|---|---|---|---|")
def rarest(figures):
    d = figures["digits"]
    i = min(range(len(d)), key=lambda k: d[k])
    return f'{i} ({100 * d[i] / figures["images"]:.1f} %)'
for name in ["cvae-z2", "cvae-z20", "ae-z20", "sae-z20"]:
    base = None
    for prior in ["normal"] + ["gmm" + k for k in components]:
        s = json.load(open(f"{runs}/{name}-{prior}.score.json"))
        m = s["model_samples"]
        base = base or m["frechet_distance"]
        decoded = s.get("test_codes_decoded")
        tail = f'{decoded["frechet_distance"]:.0f}, {rarest(decoded)}' if decoded else "-"
        label = "N(0, I)" if prior == "normal" else "gmm:" + prior[3:]
        if prior == "gmmauto":
            label += " (" + s["prior"].split()[3] + ")"  # "gaussian mixture of K components over ..."
        print(f'| {name} | {label} | {m["frechet_distance"]:.0f} | {m["frechet_distance"] / base:.2f} | '
              f'{m["classifier_score"]:.2f} | {rarest(m)} | {tail} |')
s = json.load(open(f"{runs}/cvae-z2-normal.score.json"))
t = s["training_images"]
print(f'\nReal images: {t["images"]} training images score Fréchet distance {t["frechet_distance"]:.1f}, '
      f'classifier score {t["classifier_score"]:.2f} (the test set itself {s["test_classifier_score"]:.2f}); '
      f'the judge reads {100 * s["judge_digit_accuracy"]:.2f} % of the test digits right.')
PY
cat "$runs/table.md"
