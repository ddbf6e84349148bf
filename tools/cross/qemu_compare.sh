#!/usr/bin/env bash
# Runs the cross-built latentkit-sample under qemu-user and compares its output with the host
# build's: the same model files, seeds and commands; latents must be bit-identical, images equal
# within 1e-5 (int8 files too: both platforms compute the same integer arithmetic, so their int8
# values agree exactly). ctest runs it (tests/device/CMakeLists.txt); it also runs by hand.
#
#   tools/cross/qemu_compare.sh models OUT_DIR --models-tool PATH [--latentkit PATH --mnist DIR]
#       writes the model files: lk_device_models's (random weights, seed-000 CVAE shape and
#       random decoders, the seed-000 shape also quantised) and, given the host latentkit and
#       MNIST, a CVAE trained for one short epoch (300 images) and exported as fp32 and int8:
#       the real export path
#   tools/cross/qemu_compare.sh compare ARCH --host-sample PATH --compare-tool PATH
#                                            --models DIR --work DIR [--build] [--bundle]
#       ARCH aarch64 or armhf. --build configures and builds latentkit-sample with the rpi-ARCH
#       preset first (build/rpi-ARCH, and the sysroot). Runs 1: the build tree's program with
#       the sysroot as qemu's -L prefix (the target's Debian libraries and a Raspberry Pi's
#       /proc/cpuinfo, so XNNPACK picks the kernels a Pi would use), QEMU_CPU cortex-a72 (Pi 4)
#       or cortex-a7 (Pi 2). --bundle also makes the device bundle (make_bundle.sh) and runs 2:
#       the unpacked bundle with only the cross toolchain's C library as -L (its lib/ must
#       supply the rest), QEMU_CPU cortex-a53 (Pi 3) or cortex-a15; and runs 3: the bundle's
#       Python module on the bundle's model, through python_sample.py with the target's python3
#       and numpy from the sysroot.
#
# Environment: LATENTKIT_QEMU_CPUS="cpu ..." replaces the cores of runs 1.
set -euo pipefail

die() { echo "qemu_compare.sh: $*" >&2; exit 2; }
repo_root="$(cd "$(dirname "$0")/../.." && pwd)"

# ---------------------------------------------------------------------------------------------
if [ "${1:-}" = models ]; then
  [ $# -ge 2 ] || die "models OUT_DIR --models-tool PATH [--latentkit PATH --mnist DIR]"
  out="$2"; shift 2
  tool="" latentkit="" mnist=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --models-tool) tool="$2"; shift 2 ;;
      --latentkit) latentkit="$2"; shift 2 ;;
      --mnist) mnist="$2"; shift 2 ;;
      *) die "unknown argument '$1'" ;;
    esac
  done
  [ -x "$tool" ] || die "--models-tool '$tool' is not a program"
  rm -rf -- "$out"; mkdir -p "$out"
  "$tool" "$out"
  if [ -n "$latentkit" ]; then
    [ -f "$mnist/train-images-idx3-ubyte" ] || die "no MNIST in '$mnist' (run tools/setup.sh)"
    start=$SECONDS
    "$latentkit" train cvae --data "$mnist" --epochs 1 --train-limit 300 --test-limit 100 --batch 100 \
      --out "$out/trained-run" --overwrite >"$out/trained-run.log" 2>&1 \
      || { cat "$out/trained-run.log" >&2; die "latentkit train failed"; }
    "$latentkit" export "$out/trained-run" -o "$out/cvae-trained.lkm" >>"$out/trained-run.log" 2>&1 \
      || { cat "$out/trained-run.log" >&2; die "latentkit export failed"; }
    "$latentkit" export "$out/trained-run" -o "$out/cvae-trained-int8.lkm" --quant int8 --data "$mnist" \
      >>"$out/trained-run.log" 2>&1 || { cat "$out/trained-run.log" >&2; die "latentkit export --quant int8 failed"; }
    echo "$out/cvae-trained.lkm (trained and exported in $((SECONDS - start)) s)"
  fi
  exit 0
fi

# ---------------------------------------------------------------------------------------------
[ "${1:-}" = compare ] && [ $# -ge 2 ] || { sed -n '2,24s/^# \{0,1\}//p' "$0" >&2; exit 2; }
case "$2" in
  aarch64|arm64) arch=aarch64; triplet=aarch64-linux-gnu; qemu=qemu-aarch64; cpus="cortex-a72"; bundle_cpu=cortex-a53 ;;
  armhf) arch=armhf; triplet=arm-linux-gnueabihf; qemu=qemu-arm; cpus="cortex-a7"; bundle_cpu=cortex-a15 ;;
  *) die "unknown architecture '$2' (aarch64 or armhf)" ;;
esac
shift 2
cpus="${LATENTKIT_QEMU_CPUS:-$cpus}"
host_sample="" compare_tool="" models="" work="" do_build=0 do_bundle=0
while [ $# -gt 0 ]; do
  case "$1" in
    --host-sample) host_sample="$2"; shift 2 ;;
    --compare-tool) compare_tool="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --build) do_build=1; shift ;;
    --bundle) do_bundle=1; shift ;;
    *) die "unknown argument '$1'" ;;
  esac
done
[ -x "$host_sample" ] || die "--host-sample '$host_sample' is not a program"
[ -x "$compare_tool" ] || die "--compare-tool '$compare_tool' is not a program"
[ -d "$models" ] && compgen -G "$models/*.lkm" >/dev/null || die "no .lkm files in --models '$models'"
[ -n "$work" ] || die "--work DIR is required"
command -v "$qemu" >/dev/null || die "$qemu not found (Debian package qemu-user; tools/setup.sh installs it)"

build_dir="$repo_root/build/rpi-$arch"
if [ "$do_build" -eq 1 ]; then
  start=$SECONDS
  echo "== cross build: cmake --preset rpi-$arch && cmake --build --preset rpi-$arch --target latentkit-sample latentkit_python"
  (cd "$repo_root" && cmake --preset "rpi-$arch" >"$work.configure.log" 2>&1) \
    || { cat "$work.configure.log" >&2; die "configuring rpi-$arch failed"; }
  (cd "$repo_root" && cmake --build --preset "rpi-$arch" --target latentkit-sample latentkit_python) \
    || die "building rpi-$arch failed"
  echo "   (configure + build: $((SECONDS - start)) s)"
fi
cross_sample="$build_dir/tools/latentkit-sample"
[ -x "$cross_sample" ] || die "no $cross_sample (pass --build, or build the rpi-$arch preset)"
sysroot="$(sed -n 's/^LATENTKIT_SYSROOT:PATH=//p' "$build_dir/CMakeCache.txt")"
[ -d "$sysroot" ] || die "no sysroot '$sysroot' for $build_dir"
backends="$(sed -n 's/^LATENTKIT_WITH_XNNPACK:BOOL=//p' "$build_dir/CMakeCache.txt")"
[ "$backends" = ON ] && backends="xnnpack reference" || backends="reference"

rm -rf -- "$work"; mkdir -p "$work"
failures=0 runs=0 worst_image="0"

# The commands compared, per model: prior samples (the seeded generator), and for 2-d latents
# the grid; XNNPACK also with 2 threads. The bundle's runs (COMMANDS=first) take the first
# command only: they show that the bundle's own libraries run every model on another core,
# and the seeds, grids and threads are the same code paths as runs 1.
commands=all
commands_for() {  # MODEL BACKEND -> one command per line
  echo "sample -n 25 --seed 7"
  [ "$commands" = first ] && return 0
  echo "sample -n 9 --seed 18446744073709551615"
  case "$(basename "$1")" in cvae-*) echo "grid 5x5" ;; esac
  [ "$2" = xnnpack ] && echo "--threads 2 sample -n 25 --seed 7"
  return 0
}

# compare_runs LABEL RUNNER... : runs every model/backend/command on the host and through RUNNER.
compare_runs() {
  local label="$1"; shift
  local model backend cmd i=0 host_dir="$work/host" dir="$work/$label" start=$SECONDS
  mkdir -p "$host_dir" "$dir"
  echo "== $label: $*"
  for model in "${run_models[@]}"; do
    for backend in $backends; do
      while read -r cmd; do
        i=$((i + 1)); runs=$((runs + 1))
        local pre=() rest=($cmd)
        if [ "${rest[0]}" = --threads ]; then pre=(--threads "${rest[1]}"); rest=("${rest[@]:2}"); fi
        local args=(--backend "$backend" "${pre[@]}")
        local what="$(basename "$model") --backend $backend ${pre[*]:+${pre[*]} }${rest[*]}"
        if [ ! -f "$host_dir/$label-$i.x" ]; then
          "$build_host" "${args[@]}" --save-latents "$host_dir/$label-$i.z" --save-images "$host_dir/$label-$i.x" \
            "$model" "${rest[@]}" -o "$host_dir/$label-$i.png" >/dev/null
        fi
        if ! "$@" "${args[@]}" --save-latents "$dir/$i.z" --save-images "$dir/$i.x" \
              "$model" "${rest[@]}" -o "$dir/$i.png" >"$dir/$i.log" 2>&1; then
          echo "FAIL  $what: the emulated program failed:"; sed 's/^/      /' "$dir/$i.log"
          failures=$((failures + 1)); continue
        fi
        local z x zr=0 xr=0
        z="$("$compare_tool" "$host_dir/$label-$i.z" "$dir/$i.z" 0)" || zr=1
        x="$("$compare_tool" "$host_dir/$label-$i.x" "$dir/$i.x" 1e-5)" || xr=1
        local d; d="$(sed -n 's/^max |diff| \([^ ]*\) .*/\1/p' <<<"$x")"; [ -n "$d" ] || d=0
        worst_image="$(awk -v a="$worst_image" -v b="$d" 'BEGIN {print (b + 0 > a + 0) ? b : a}')"
        if [ "$zr" -eq 0 ] && [ "$xr" -eq 0 ]; then
          printf 'ok    %-66s latents %s; images %s\n' "$what" "${z%% (*}" "$x"
        else
          printf 'FAIL  %-66s latents %s; images %s\n' "$what" "$z" "$x"
          failures=$((failures + 1))
        fi
      done < <(commands_for "$model" "$backend")
    done
  done
  echo "   ($i runs, $((SECONDS - start)) s)"
}
build_host="$host_sample"
run_models=("$models"/*.lkm)

for cpu in $cpus; do
  compare_runs "sysroot-$cpu" "$qemu" -cpu "$cpu" -L "$sysroot" "$cross_sample"
done

if [ "$do_bundle" -eq 1 ]; then
  model=""
  for m in "$models"/cvae-trained.lkm "$models"/cvae-*.lkm "$models"/*.lkm; do
    [ -f "$m" ] && { model="$m"; break; }
  done
  echo "== bundle: tools/cross/make_bundle.sh $arch $model"
  LATENTKIT_BUILD_DIR="$build_dir" "$repo_root/tools/cross/make_bundle.sh" "$arch" "$model" | sed 's/^/   /'
  mkdir -p "$work/bundle"
  tar -xzf "$build_dir/latentkit-bundle-$arch.tar.gz" -C "$work/bundle"
  # Only the toolchain's C library: XNNPACK and the rest must come from the bundle's lib/.
  commands=first
  compare_runs "bundle-$bundle_cpu" "$qemu" -cpu "$bundle_cpu" -L "/usr/$triplet" \
    "$work/bundle/latentkit-bundle-$arch/latentkit-sample"
  # The bundle's Python module on the bundle's model, with the target's python3 and numpy from
  # the sysroot (make_sysroot.sh): the same command through python_sample.py.
  if [ -x "$sysroot/usr/bin/python3.11" ]; then
    run_models=("$model")
    compare_runs "bundle-python-$bundle_cpu" env PYTHONPATH="$work/bundle/latentkit-bundle-$arch/python" \
      "$qemu" -cpu "$bundle_cpu" -L "$sysroot" "$sysroot/usr/bin/python3.11" "$repo_root/tools/cross/python_sample.py"
  else
    echo "FAIL  no python3.11 in $sysroot: the Python module was not run (re-run tools/cross/make_sysroot.sh)"
    failures=$((failures + 1))
  fi
fi

echo "== $arch: $runs runs, $failures failed; largest image difference $worst_image"
[ "$failures" -eq 0 ]
