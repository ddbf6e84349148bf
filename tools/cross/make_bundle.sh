#!/usr/bin/env bash
# Packs what a Raspberry Pi needs to run latentkit-sample into one tarball:
#   build/rpi-ARCH/latentkit-bundle-ARCH.tar.gz
#     latentkit-bundle-ARCH/latentkit-sample   stripped; run path $ORIGIN/lib (DT_RPATH)
#     latentkit-bundle-ARCH/lib/               the shared libraries it needs beyond glibc and
#                                              libstdc++ (libXNNPACK, libpthreadpool, libcpuinfo),
#                                              Debian's, from the sysroot
#     latentkit-bundle-ARCH/python/latentkit/  the Python module (bindings/python) and its
#                                              liblatentkit.so (run path $ORIGIN/../../lib)
#     latentkit-bundle-ARCH/python/sample.py   examples/python/sample.py
#     latentkit-bundle-ARCH/MODEL.lkm          the model
#     latentkit-bundle-ARCH/README.txt         what to run on the device
#
#   tools/cross/make_bundle.sh ARCH [MODEL.lkm]
#
#   ARCH   aarch64 (arm64) or armhf
#   MODEL  default: runs/cvae/cvae.lkm. Without it, a model is trained for one epoch with the
#          host build's latentkit (build/default/tools/latentkit, data/mnist; about a minute)
#          into build/rpi-ARCH/bundle-model/.
#
# Builds latentkit-sample and the Python module's library with the rpi-ARCH preset first when
# they are not built yet (that also
# makes the sysroot). Environment: LATENTKIT_BUILD_DIR (default build/rpi-ARCH) and
# LATENTKIT_SYSROOT (default: the build's) point elsewhere, LATENTKIT_HOST_BUILD (default
# build/default) at the host build that trains the fallback model.
set -euo pipefail

die() { echo "make_bundle.sh: $*" >&2; exit 1; }
[ $# -ge 1 ] && [ $# -le 2 ] || { sed -n '2,22s/^# \{0,1\}//p' "$0" >&2; exit 2; }
case "$1" in
  aarch64|arm64) arch=aarch64; triplet=aarch64-linux-gnu; deb_arch=arm64 ;;
  armhf) arch=armhf; triplet=arm-linux-gnueabihf; deb_arch=armhf ;;
  *) die "unknown architecture '$1' (aarch64 or armhf)" ;;
esac
repo_root="$(cd "$(dirname "$0")/../.." && pwd)"
build_dir="${LATENTKIT_BUILD_DIR:-$repo_root/build/rpi-$arch}"
host_build="${LATENTKIT_HOST_BUILD:-$repo_root/build/default}"

# The program and the Python module's library, built if need be.
sample="$build_dir/tools/latentkit-sample"
python_package="$build_dir/bindings/python/latentkit"
if [ ! -x "$sample" ] || [ ! -f "$python_package/liblatentkit.so" ]; then
  [ -z "${LATENTKIT_BUILD_DIR:-}" ] || die "no $sample or $python_package/liblatentkit.so (build them first)"
  echo "bundle: building latentkit-sample and the Python module for $arch (cmake --preset rpi-$arch)"
  (cd "$repo_root" && cmake --preset "rpi-$arch" >/dev/null \
     && cmake --build --preset "rpi-$arch" --target latentkit-sample latentkit_python) \
    || die "the rpi-$arch build failed"
fi
sysroot="${LATENTKIT_SYSROOT:-$(sed -n 's/^LATENTKIT_SYSROOT:PATH=//p' "$build_dir/CMakeCache.txt" 2>/dev/null)}"
[ -n "$sysroot" ] && [ -d "$sysroot" ] || die "no sysroot for $build_dir (LATENTKIT_SYSROOT in its CMakeCache.txt)"
strip="$triplet-strip"
command -v "$strip" >/dev/null || die "$strip not found (install crossbuild-essential-$deb_arch)"
command -v readelf >/dev/null || die "readelf not found (binutils)"

# The model.
model="${2:-}"
if [ -z "$model" ]; then
  if [ -f "$repo_root/runs/cvae/cvae.lkm" ]; then
    model="$repo_root/runs/cvae/cvae.lkm"
  else
    latentkit="$host_build/tools/latentkit"
    [ -x "$latentkit" ] && [ -f "$repo_root/data/mnist/train-images-idx3-ubyte" ] \
      || die "no model given, no runs/cvae/cvae.lkm, and no $latentkit + data/mnist to train one: pass a .lkm file"
    out="$build_dir/bundle-model"
    if [ ! -f "$out/cvae.lkm" ]; then
      echo "bundle: no model given and no runs/cvae/cvae.lkm: training one epoch into $out"
      "$latentkit" train cvae --data "$repo_root/data/mnist" --epochs 1 --out "$out/run" --overwrite
      "$latentkit" export "$out/run" -o "$out/cvae.lkm"
    fi
    model="$out/cvae.lkm"
  fi
fi
[ -f "$model" ] || die "model file $model not found"

name="latentkit-bundle-$arch"
stage="$build_dir/bundle-stage"
rm -rf -- "$stage"
mkdir -p "$stage/$name/lib"
dest="$stage/$name"
"$strip" --strip-all -o "$dest/latentkit-sample" "$sample"
cp -- "$model" "$dest/$(basename "$model")"
mkdir -p "$dest/python/latentkit"
cp -- "$python_package"/*.py "$dest/python/latentkit/"
"$strip" --strip-unneeded -o "$dest/python/latentkit/liblatentkit.so" "$python_package/liblatentkit.so"
cp -- "$repo_root/examples/python/sample.py" "$dest/python/sample.py"

# The run path must be $ORIGIN/lib, as DT_RPATH (see toolchains/linux-cross-common.cmake).
rpath="$(readelf -d "$dest/latentkit-sample" | sed -n 's/.*(RPATH).*\[\(.*\)\]/\1/p')"
[ "$rpath" = '$ORIGIN/lib' ] || die "latentkit-sample has RPATH '$rpath', not \$ORIGIN/lib (configure with the rpi-$arch preset)"
rpath="$(readelf -d "$dest/python/latentkit/liblatentkit.so" | sed -n 's/.*(R[UN]*PATH).*\[\(.*\)\]/\1/p')"
[ "$rpath" = '$ORIGIN/../../lib' ] || die "the Python module's liblatentkit.so has run path '$rpath', not \$ORIGIN/../../lib"

# The libraries: NEEDED entries, followed through the sysroot, except the C and C++ run-time
# libraries every Debian 12 / Raspberry Pi OS bookworm system has.
is_system_lib() {
  case "$1" in
    libc.so.*|libm.so.*|libdl.so.*|libpthread.so.*|librt.so.*|ld-linux*|libstdc++.so.*|libgcc_s.so.*) return 0 ;;
  esac
  return 1
}
find_lib() {
  local d
  for d in "$build_dir" "$build_dir/runtime" "$sysroot/usr/lib/$triplet" "$sysroot/lib/$triplet"; do
    [ -e "$d/$1" ] && { echo "$d/$1"; return 0; }
  done
  return 1
}
todo=("$dest/latentkit-sample" "$dest/python/latentkit/liblatentkit.so")
while [ "${#todo[@]}" -gt 0 ]; do
  file="${todo[0]}"; todo=("${todo[@]:1}")
  for lib in $(readelf -d "$file" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    is_system_lib "$lib" && continue
    [ -e "$dest/lib/$lib" ] && continue
    src="$(find_lib "$lib")" || die "$lib (needed by $(basename "$file")) is in neither the build nor the sysroot"
    cp -L -- "$src" "$dest/lib/$lib"
    todo+=("$dest/lib/$lib")
  done
done

# What the device's C and C++ libraries must provide.
needs() {  # PREFIX: the highest symbol version of that kind any bundled file needs
  readelf -V --wide "$dest/latentkit-sample" "$dest"/lib/* "$dest/python/latentkit/liblatentkit.so" 2>/dev/null | grep -o "Name: $1[0-9.]*" | sed "s/Name: $1//" \
    | sort -t. -k1,1n -k2,2n -k3,3n | tail -n 1
}
glibc="$(needs GLIBC_)"; glibcxx="$(needs GLIBCXX_)"
model_name="$(basename "$model")"

cat > "$dest/README.txt" <<README
latentkit for the Raspberry Pi ($arch, built $(date -u +%Y-%m-%d) from $(git -C "$repo_root" describe --always --dirty 2>/dev/null || echo "an unknown commit"))

Needs: $( [ "$arch" = aarch64 ] && echo "64-bit Raspberry Pi OS (arm64) or Debian arm64" || echo "32-bit Raspberry Pi OS (armhf) or Debian armhf on an ARMv7 or newer Pi (Pi 2, 3, 4, 5; not Pi Zero / Pi 1)" ),
bookworm (Debian 12) or newer: glibc $glibc and libstdc++ GLIBCXX_$glibcxx.
The libraries in lib/ (Debian's XNNPACK, pthreadpool, cpuinfo) are found through the program's
run path \$ORIGIN/lib, whether or not the system has them.

Copy and unpack:
  scp latentkit-bundle-$arch.tar.gz pi@raspberrypi.local:
  ssh pi@raspberrypi.local
  tar xzf latentkit-bundle-$arch.tar.gz && cd latentkit-bundle-$arch

Run:
  ./latentkit-sample $model_name info
  ./latentkit-sample $model_name grid 5x5 -o grid.png
  ./latentkit-sample $model_name sample -n 64 --seed 7 -o samples.png
  ./latentkit-sample $model_name interpolate --from -2,0 --to 2,0 --steps 8 -o line.png
  ./latentkit-sample $model_name bench --batch 25 --runs 200
  ./latentkit-sample --threads 4 $model_name bench --batch 25 --runs 200
  ./latentkit-sample --backend reference $model_name bench --batch 25 --runs 20

From Python (python3 and python3-numpy: sudo apt install python3-numpy):
  PYTHONPATH=python python3 -c "import latentkit as lk; m = lk.Model('$model_name'); print(m.sample(16, seed=7).shape)"
  PYTHONPATH=python python3 python/sample.py $model_name     # grid.png and samples.png

The same seed gives the same latents as on the workstation, bit for bit; add
--save-latents z.f32 --save-images x.f32 (before the command) to compare the raw numbers.
README

tarball="$build_dir/$name.tar.gz"
tar --sort=name --owner=0 --group=0 --numeric-owner -C "$stage" -czf "$tarball.partial" "$name"
mv -f -- "$tarball.partial" "$tarball"
echo "bundle: $tarball ($(stat -c %s "$tarball") bytes)"
(cd "$dest" && for f in latentkit-sample lib/* python/latentkit/liblatentkit.so "$model_name"; do printf '  %-28s %9d bytes\n' "$f" "$(stat -c %s "$f")"; done)
echo "  needs glibc $glibc, GLIBCXX_$glibcxx"
