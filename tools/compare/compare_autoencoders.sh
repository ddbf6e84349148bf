#!/usr/bin/env bash
# Trains the autoencoder families of seeds 001-003 side by side and writes one comparison table
# and one picture (issue #18): PCA, the MLP, denoising and sparse autoencoders and the
# convolutional one with each upsampling kind, at several code sizes, on MNIST and Fashion-MNIST.
#
#   tools/compare/compare_autoencoders.sh [--data mnist,fashion-mnist] [--codes 2,8,32]
#       [--families pca,ae,dae,sae,conv-ae,conv-ae:nearest,conv-ae:max-unpool] [--epochs 3]
#       [--threads 1] [--runs runs/compare] [--corrupt mask:0.3] [--build build/default]
#
# A family is FAMILY[:UPSAMPLE][@LR]: a conv-ae's upsampling kind, and a learning rate other than
# the family's default (the MNIST table in README.md used the defaults: 3e-4 for the nearest and
# max-unpool decoders, 4e-3 for the others).
# Each model is a run folder RUNS/DATASET/FAMILY-cCODE (a conv-ae's upsampling in its name);
# a run whose checkpoint exists is reused, not trained again (delete it to retrain). Every
# figure of the table comes from the test set:
#   test MSE, test BCE   per image, summed over its pixels: the run's last metrics.csv line
#                        (what the trainer evaluated on the whole test split)
#   denoise PSNR         the exported model (fp32, XNNPACK) reconstructing the first 100 test
#                        images corrupted with --corrupt, seed 1: the same corruption for every
#                        model (latentkit-sample denoise), against the clean images
#   sparsity             fraction of code entries with |h| < 0.01 (metrics.csv)
#   parameters           the exported file's constants (reconstruct holds every weight)
#   train s              the epochs' seconds in metrics.csv
# Writes RUNS/DATASET/table.md and RUNS/DATASET/reconstructions.png: the first 10 test images
# on top, then one row per model in the table's order.
set -euo pipefail

die() { echo "compare_autoencoders.sh: $*" >&2; exit 2; }
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"  # --runs and --build are relative to the repository

datasets=mnist,fashion-mnist codes=2,8,32 epochs=3 threads=1 runs=runs/compare corrupt=mask:0.3
families=pca,ae,dae,sae,conv-ae,conv-ae:nearest,conv-ae:max-unpool build="$root/build/default"
while [ $# -gt 0 ]; do
  case "$1" in
    --data) datasets="$2"; shift 2 ;;
    --codes) codes="$2"; shift 2 ;;
    --families) families="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --corrupt) corrupt="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
latentkit="$build/tools/latentkit" sample="$build/tools/latentkit-sample"
[ -x "$latentkit" ] && [ -x "$sample" ] || die "no $latentkit or $sample: build the default preset first"
command -v python3 >/dev/null || die "python3 is needed for the table's picture (Debian package python3)"
[[ $epochs =~ ^[1-9][0-9]*$ ]] || die "--epochs '$epochs' is not a positive whole number"

# The test images as the device tool reads them: uncompressed IDX (Fashion-MNIST's Debian
# package ships gzip).
test_images_of() {  # DATASET OUT_DIR -> path of an uncompressed t10k images file
  local dir
  case "$1" in
    mnist) dir="$root/data/mnist" ;;
    fashion-mnist) dir=/usr/share/datasets/fashion-mnist ;;
    *) dir="$1" ;;
  esac
  if [ -f "$dir/t10k-images-idx3-ubyte" ]; then echo "$dir/t10k-images-idx3-ubyte"; return; fi
  [ -f "$dir/t10k-images-idx3-ubyte.gz" ] || die "no test images in $dir (tools/setup.sh installs MNIST and Fashion-MNIST)"
  gzip -dc "$dir/t10k-images-idx3-ubyte.gz" > "$2/t10k-images-idx3-ubyte"
  echo "$2/t10k-images-idx3-ubyte"
}

# metrics.csv's last line, one column by name ("-" if the family has no such column).
metric() {  # FILE COLUMN
  awk -F, -v col="$2" 'NR == 1 { for (i = 1; i <= NF; ++i) if ($i == col) c = i; next } { last = $0 }
    END { if (!c) { print "-"; exit } split(last, f, ","); print f[c] }' "$1"
}
seconds_total() { awk -F, 'NR == 1 { for (i = 1; i <= NF; ++i) if ($i == "seconds") c = i; next } { s += $c } END { printf "%.0f", s }' "$1"; }

IFS=, read -r -a dataset_list <<<"$datasets"
IFS=, read -r -a code_list <<<"$codes"
IFS=, read -r -a family_list <<<"$families"
for dataset in "${dataset_list[@]}"; do
  out="$runs/$dataset"
  mkdir -p "$out"
  images="$(test_images_of "$dataset" "$out")"
  first100=() first10=()
  for i in $(seq 0 99); do first100+=("$images:$i"); done
  for i in $(seq 0 9); do first10+=("$images:$i"); done
  table="$out/table.md" rows=()
  {
    echo "| model | code | test MSE | test BCE | denoise PSNR (dB, $corrupt) | sparsity | parameters | train s |"
    echo "|---|---|---|---|---|---|---|---|"
  } > "$table.tmp"
  for code in "${code_list[@]}"; do
    for spec in "${family_list[@]}"; do
      lr=""
      if [[ $spec == *@* ]]; then lr="${spec#*@}"; spec="${spec%@*}"; fi
      family="${spec%%:*}" upsample="" name="$family"
      if [[ $spec == *:* ]]; then upsample="${spec#*:}"; name="$family-$upsample"; fi
      [ "$family" = conv-ae ] && [ -z "$upsample" ] && name="conv-ae-transposed"
      run="$out/$name-c$code"
      if [ ! -f "$run/checkpoint.pt" ]; then
        args=(train "$family" --data "$dataset" --code "$code" --epochs "$epochs" --threads "$threads" --out "$run" --overwrite)
        [ -n "$upsample" ] && args+=(--upsample "$upsample")
        [ -n "$lr" ] && args+=(--lr "$lr")
        echo "== $dataset $name code $code: latentkit ${args[*]}"
        "$latentkit" "${args[@]}" > "$out/$name-c$code.log" 2>&1 || { tail -5 "$out/$name-c$code.log" >&2; die "training $name failed"; }
      else
        echo "== $dataset $name code $code: reusing $run"
      fi
      model="$run/model.lkm"
      if [ ! -f "$model" ] || [ "$model" -ot "$run/checkpoint.pt" ]; then
        if ! "$latentkit" export "$run" -o "$model" >> "$out/$name-c$code.log" 2>&1; then
          # A model the exporter refuses is a row that says why, not the end of the comparison.
          why="$(grep -o 'error: .*' "$out/$name-c$code.log" | tail -1)"
          printf '| %s | %s | %.2f | %.2f | not exported: %s | %.3f | - | %s |\n' "$name" "$code" \
            "$(metric "$run/metrics.csv" test_mse)" "$(metric "$run/metrics.csv" test_bce)" "${why#error: }" \
            "$(metric "$run/metrics.csv" code_sparsity)" "$(seconds_total "$run/metrics.csv")" >> "$table.tmp"
          continue
        fi
      fi
      psnr="$("$sample" "$model" denoise "${first100[@]}" --corrupt "$corrupt" --seed 1 -o "$run/denoise.png" |
              sed -n 's/.*reconstructed \([0-9.+-]*\) dB.*/\1/p')"
      "$sample" --save-images "$run/reconstruct.f32" "$model" reconstruct "${first10[@]}" -o "$run/reconstruct.png" >/dev/null
      params="$("$sample" "$model" info --graph | awk '/^method reconstruct/ { r = 1; next } /^method / { r = 0 }
               r && / constant, / { for (i = 1; i <= NF; ++i) if ($i == "bytes") b += $(i - 1) } END { print b / 4 }')"
      printf '| %s | %s | %.2f | %.2f | %s | %.3f | %s | %s |\n' "$name" "$code" "$(metric "$run/metrics.csv" test_mse)" \
        "$(metric "$run/metrics.csv" test_bce)" "$psnr" "$(metric "$run/metrics.csv" code_sparsity)" "$params" \
        "$(seconds_total "$run/metrics.csv")" >> "$table.tmp"
      rows+=("$run/reconstruct.f32")
    done
  done
  mv "$table.tmp" "$table"
  python3 "$root/tools/compare/compose_rows.py" "$images" 10 "$out/reconstructions.png" "${rows[@]}"
  echo "== $dataset: $table, $out/reconstructions.png (test images on top, then the table's models in order)"
  cat "$table"
done
