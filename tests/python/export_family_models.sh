#!/usr/bin/env bash
# Trains every family `latentkit families` lists for a few steps on a slice of MNIST and exports
# it, so that the Python tests run the files the families really export (their ops, methods and
# quantisation), not hand-made ones.
#
#   export_family_models.sh LATENTKIT MNIST_DIR OUT_DIR
#
# OUT_DIR/FAMILY.lkm for each family (code size 2, so that every decoder has a latent grid),
# plus the variants whose files differ in ops: conv-ae with --upsample nearest and max-unpool
# (no decode), and the cvae exported --quant int8 and int8-weights.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 LATENTKIT MNIST_DIR OUT_DIR" >&2; exit 2; }
latentkit="$1" data="$2" out="$3"
mkdir -p "$out"

train_and_export() {  # NAME FAMILY [TRAIN OPTIONS...]
  local name="$1" family="$2"
  shift 2
  "$latentkit" train "$family" --data "$data" --latent 2 --train-limit 256 --test-limit 64 --epochs 1 \
    --threads 1 --no-report --overwrite --out "$out/runs/$name" "$@" > "$out/$name.log"
  "$latentkit" export "$out/runs/$name" -o "$out/$name.lkm" >> "$out/$name.log"
}

families="$("$latentkit" families)"
[ -n "$families" ] || { echo "$0: latentkit families listed nothing" >&2; exit 1; }
for family in $families; do
  train_and_export "$family" "$family"
done
train_and_export conv-ae-nearest conv-ae --upsample nearest
train_and_export conv-ae-max-unpool conv-ae --upsample max-unpool
for quant in int8 int8-weights; do
  "$latentkit" export "$out/runs/cvae" -o "$out/cvae-$quant.lkm" --quant "$quant" --data "$data" >> "$out/cvae.log"
done
ls "$out"/*.lkm
