#!/usr/bin/env bash
# Side by side: latentkit (XNNPACK and reference backends), ONNX Runtime and the trainer's
# libtorch decoder on the same weights, in one run of this script.
#
#   tools/bench/compare.sh MODEL.lkm [--run RUN_DIR] [--rounds 3] [--batches 1,25,256]
#                          [--runs 100] [--max-seconds 3] [--out DIR] [--build build/default]
#
# 1. Converts MODEL.lkm (float32) to ONNX (tools/bench/lkm_to_onnx.py, Debian's python3-onnx).
# 2. Checks that the runtimes agree before timing anything: the 25 latents of
#    `latentkit-sample MODEL sample -n 25 --seed 7` decoded by latentkit (XNNPACK, reference), by
#    ONNX Runtime and (with --run) by libtorch; every image value within 1e-4 of XNNPACK's, or
#    the script stops with status 1.
# 3. Times each configuration in its own process: batches 1, 25, 256 at 1 thread, and 2 threads
#    at batch 256 (the reference backend has no threads), in --rounds rounds, every configuration
#    once per round (interleaved, so that a noisy minute on a shared machine hits all of them).
#    A measurement is the median of its process's timed decodes (up to --runs, at most
#    --max-seconds) and their mean CPU time; the table gives the median over the rounds, per call
#    and per image, and each runtime's time as a ratio to ONNX Runtime's at the same batch and
#    threads (< 1: faster). On a shared machine the CPU time is the steadier figure at 1 thread:
#    the wall time also holds whatever other processes took from the core.
#
# --run RUN_DIR: the training run MODEL.lkm was exported from; its checkpoint is timed through
# the trainer's own libtorch decoder (latentkit-torch-decode-bench). Without it libtorch is left
# out (a .lkm file does not say where its checkpoint is).
# ONNX Runtime: the npm package onnxruntime-node that tools/setup.sh installs into
# tools/bench/node_modules, 1 thread = intraOpNumThreads 1, interOpNumThreads 1, graph
# optimisation "all" (tools/bench/ort_bench.js).
# Output: the table on stdout; every measurement (one JSON object per line) and the table in
# --out (default: a new folder under ${TMPDIR:-/tmp}).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# Debian's python3 has python3-onnx and numpy; a python3 earlier on PATH (pyenv, a venv) may not.
python=/usr/bin/python3

usage() { sed -n '2,31s/^# \{0,1\}//p' "$0"; }
fail() { echo "compare.sh: $*" >&2; exit 1; }

model="" run="" rounds=3 batches="1,25,256" runs=100 max_seconds=3 out="" build="$repo/build/default"
while [ $# -gt 0 ]; do
  case "$1" in
    --run) run="${2:?--run needs a folder}"; shift 2 ;;
    --rounds) rounds="${2:?}"; shift 2 ;;
    --batches) batches="${2:?}"; shift 2 ;;
    --runs) runs="${2:?}"; shift 2 ;;
    --max-seconds) max_seconds="${2:?}"; shift 2 ;;
    --out) out="${2:?}"; shift 2 ;;
    --build) build="${2:?}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) fail "unknown option '$1' (try --help)" ;;
    *) [ -z "$model" ] || fail "one model file, got '$model' and '$1'"; model="$1"; shift ;;
  esac
done
[ -n "$model" ] || { usage >&2; exit 2; }
[ -f "$model" ] || fail "no model file '$model'"
[[ "$rounds" =~ ^[1-9][0-9]?$ ]] || fail "--rounds takes 1 to 99, got '$rounds'"
[[ "$runs" =~ ^[1-9][0-9]{0,5}$ ]] || fail "--runs takes a positive whole number, got '$runs'"
[[ "$batches" =~ ^[1-9][0-9]{0,3}(,[1-9][0-9]{0,3})*$ ]] || fail "--batches takes a list such as 1,25,256, got '$batches'"
[[ "$max_seconds" =~ ^[0-9]+(\.[0-9]+)?$ ]] || fail "--max-seconds takes a number, got '$max_seconds'"

sample="$build/tools/latentkit-sample"
torch_bench="$build/tools/latentkit-torch-decode-bench"
[ -x "$sample" ] || fail "$sample is missing (cmake --build --preset default --target latentkit-sample)"
command -v node >/dev/null || fail "node is not installed (tools/setup.sh)"
[ -d "$here/node_modules/onnxruntime-node" ] || fail "onnxruntime-node is not in tools/bench/node_modules (tools/setup.sh)"
"$python" -c "import onnx, numpy" 2>/dev/null || fail "$python cannot import onnx and numpy (tools/setup.sh installs python3-onnx)"
if [ -n "$run" ]; then
  [ -f "$run/checkpoint.pt" ] || fail "--run $run has no checkpoint.pt"
  [ -x "$torch_bench" ] || fail "$torch_bench is missing (cmake --build --preset default --target latentkit-torch-decode-bench)"
fi
if [ -z "$out" ]; then out="$(mktemp -d "${TMPDIR:-/tmp}/latentkit-compare.XXXXXX")"; fi
mkdir -p "$out"
results="$out/measurements.jsonl"
: > "$results"

# --- 1. ONNX ------------------------------------------------------------------------------------
onnx_file="$out/model.onnx"
"$python" "$here/lkm_to_onnx.py" "$model" "$onnx_file" --schema "$repo/schema/latentkit.fbs" >/dev/null

# --- 2. Agreement -------------------------------------------------------------------------------
"$sample" "$model" --backend xnnpack --save-latents "$out/latents.raw" --save-images "$out/xnnpack.raw" \
  sample -n 25 --seed 7 -o "$out/samples.png" >/dev/null
"$sample" "$model" --backend reference --save-images "$out/reference.raw" sample -n 25 --seed 7 -o "$out/samples-reference.png" >/dev/null
node "$here/ort_bench.js" "$onnx_file" --input "$out/latents.raw" --output "$out/onnxruntime.raw" --runs 1 --warmup 0 >/dev/null
others=("reference" "onnxruntime")
if [ -n "$run" ]; then
  "$torch_bench" "$run" --input "$out/latents.raw" --output "$out/libtorch.raw" --runs 1 --warmup 0 >/dev/null
  others+=("libtorch")
fi
"$python" - "$out" "${others[@]}" <<'EOF'
import sys
import numpy as np
out, names = sys.argv[1], sys.argv[2:]
base = np.fromfile(f"{out}/xnnpack.raw", dtype="<f4")
worst = 0.0
for n in names:
    other = np.fromfile(f"{out}/{n}.raw", dtype="<f4")
    if other.shape != base.shape:
        sys.exit(f"compare.sh: {n} gave {other.size} values, latentkit (xnnpack) {base.size}")
    d = float(np.max(np.abs(other - base)))
    print(f"agreement: {n} vs latentkit xnnpack, 25 images: max abs difference {d:.2e}")
    worst = max(worst, d)
if not worst <= 1e-4:
    sys.exit(f"compare.sh: the runtimes disagree by {worst:.2e} (> 1e-4): not timing them")
EOF

# --- 3. Timing ----------------------------------------------------------------------------------
IFS=',' read -r -a batch_list <<<"$batches"
configs=()  # runtime:batch:threads
for b in "${batch_list[@]}"; do
  for t in 1 2; do
    [ "$t" -eq 1 ] || [ "$b" -eq 256 ] || continue
    configs+=("latentkit-xnnpack:$b:$t" "onnxruntime:$b:$t")
    [ "$t" -eq 2 ] || configs+=("latentkit-reference:$b:$t")
    [ -z "$run" ] || configs+=("libtorch:$b:$t")
  done
done

measure() {  # runtime batch threads -> one JSON line
  local runtime="$1" b="$2" t="$3"
  local common=(--runs "$runs" --warmup 5 --max-seconds "$max_seconds")
  case "$runtime" in
    latentkit-xnnpack|latentkit-reference)
      "$sample" "$model" --backend "${runtime#latentkit-}" --threads "$t" bench --batch "$b" "${common[@]}" --json ;;
    onnxruntime) node "$here/ort_bench.js" "$onnx_file" --batch "$b" --threads "$t" "${common[@]}" ;;
    libtorch) "$torch_bench" "$run" --batch "$b" --threads "$t" "${common[@]}" ;;
  esac
}

echo "timing ${#configs[@]} configurations x $rounds rounds, each in its own process (measurements: $results)"
for ((r = 1; r <= rounds; ++r)); do
  for c in "${configs[@]}"; do
    IFS=':' read -r runtime b t <<<"$c"
    line="$(measure "$runtime" "$b" "$t")" || fail "$runtime at batch $b, $t thread(s) failed"
    printf '{"round":%d,"runtime":"%s","batch":%d,"threads":%d,"result":%s}\n' "$r" "$runtime" "$b" "$t" "$line" >> "$results"
  done
  echo "round $r of $rounds done"
done

"$python" - "$results" "$rounds" <<'EOF' | tee "$out/table.md"
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def figures(r):
    res = r["result"]
    # latentkit-sample bench: one object with a list of batches; the others: one object.
    one = res["batches"][0] if "batches" in res else res
    return one["median_ms"], one["cpu_ms_per_decode"]
groups = {}
for r in rows:
    groups.setdefault((r["batch"], r["threads"], r["runtime"]), []).append(figures(r))
def med(values, i):
    return statistics.median(v[i] for v in values)
order = ["latentkit-xnnpack", "latentkit-reference", "onnxruntime", "libtorch"]
print(f"\nmedians of {sys.argv[2]} interleaved rounds, each the median decode (wall) or the mean CPU time per decode of its own process")
print("(CPU: every thread of the process; at 2 threads it counts both, spinning included)\n")
print("| batch | threads | runtime | ms per call | ms per image | vs ONNX Runtime | CPU ms per image | CPU vs ONNX Runtime |")
print("|---|---|---|---|---|---|---|---|")
for b, t in sorted({(k[0], k[1]) for k in groups}):
    ort = groups.get((b, t, "onnxruntime"))
    for name in order:
        if (b, t, name) not in groups:
            continue
        g = groups[(b, t, name)]
        ms, cpu = med(g, 0), med(g, 1)
        ratio = f"{ms / med(ort, 0):.2f}" if ort else "-"
        cpu_ratio = f"{cpu / med(ort, 1):.2f}" if ort else "-"
        print(f"| {b} | {t} | {name} | {ms:.4f} | {ms / b:.5f} | {ratio} | {cpu / b:.5f} | {cpu_ratio} |")
# Threads: 2 against 1 at the same batch, for each runtime that ran both.
print()
for name in order:
    for b in sorted({k[0] for k in groups}):
        one, two = groups.get((b, 1, name)), groups.get((b, 2, name))
        if one and two:
            print(f"{name} at batch {b}: 2 threads take {med(two, 0) / med(one, 0):.2f}x the wall time of 1")
EOF
