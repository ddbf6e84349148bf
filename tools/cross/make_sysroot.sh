#!/usr/bin/env bash
# Makes the sysroot a Raspberry Pi cross build compiles against and qemu runs in: Debian's own
# packages of the target architecture, fetched with `apt-get download` and unpacked with
# `dpkg -x` into a folder. Nothing is installed into the host system.
#
#   tools/cross/make_sysroot.sh ARCH [DIR]
#
#   ARCH  arm64 (aarch64, 64-bit Raspberry Pi OS) or armhf (32-bit); aarch64 is accepted too
#   DIR   where to unpack (default: build/sysroot-ARCH in the repository)
#
# What goes in:
#   - XNNPACK and what it needs: libxnnpack0 libxnnpack-dev libpthreadpool0 libpthreadpool-dev
#     libcpuinfo0
#   - the target's C and C++ run-time libraries (libc6 libstdc++6 libgcc-s1), so that DIR is a
#     complete `qemu -L` prefix: the cross-built programs run under qemu with the same libraries
#     as on a Pi running Debian 12 / Raspberry Pi OS bookworm
#   - the header-only build dependencies: FlatBuffers (libflatbuffers-dev of the target, the same
#     version as the host's flatc), CLI11, stb, doctest. Kept in the sysroot rather than taken
#     from the host's /usr/include: adding -I/usr/include to a cross build would also put the
#     host's C library headers in front of the target's.
#   - Python 3.11 and numpy of the target (python3.11-minimal, libpython3.11-stdlib,
#     python3-numpy and the libraries they load: BLAS, LAPACK, gfortran, libffi for ctypes), so
#     that the device tests run the Python module (bindings/python) under qemu as a Pi runs it;
#     libblas.so.3 and liblapack.so.3 are linked by hand, as update-alternatives would on a Pi
#   - DIR/proc/cpuinfo, a Raspberry Pi's (Pi 4 for arm64, Pi 2 for armhf): qemu serves files
#     under its -L prefix in place of the host's, so XNNPACK's cpuinfo sees the core a Pi has and
#     picks the kernels a real Pi would use (otherwise it reads the host's x86 /proc/cpuinfo).
#
# Idempotent: when DIR/.latentkit-sysroot lists the same packages and versions, nothing is done.
# Needs apt to know the target architecture (`dpkg --add-architecture ARCH && apt-get update`,
# which installs nothing; tools/setup.sh does it). Run as root, the script does that itself.
set -euo pipefail

die() { echo "make_sysroot.sh: $*" >&2; exit 1; }

[ $# -ge 1 ] && [ $# -le 2 ] || { sed -n '2,10s/^# \{0,1\}//p' "$0" >&2; exit 2; }
case "$1" in
  arm64|aarch64) arch=arm64; triplet=aarch64-linux-gnu ;;
  armhf) arch=armhf; triplet=arm-linux-gnueabihf ;;
  *) die "unknown architecture '$1' (arm64 or armhf)" ;;
esac
repo_root="$(cd "$(dirname "$0")/../.." && pwd)"
sysroot="${2:-$repo_root/build/sysroot-$arch}"

# Architecture-specific packages (fetched as PKG:ARCH) and architecture-independent ones.
arch_packages=(libxnnpack0 libxnnpack-dev libpthreadpool0 libpthreadpool-dev libcpuinfo0
               libc6 libstdc++6 libgcc-s1 libflatbuffers-dev libstb-dev
               python3.11-minimal libpython3.11-minimal libpython3.11-stdlib python3-numpy
               libblas3 liblapack3 libgfortran5 libffi8 libexpat1 zlib1g)
all_packages=(libcli11-dev doctest-dev)

command -v apt-get >/dev/null && command -v dpkg >/dev/null || die "needs Debian's apt-get and dpkg"

# apt must know the architecture.
known_archs="$(dpkg --print-architecture; dpkg --print-foreign-architectures)"
if ! grep -qx "$arch" <<<"$known_archs"; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "make_sysroot.sh: adding the $arch architecture to apt (dpkg --add-architecture $arch; installs nothing)"
    dpkg --add-architecture "$arch"
    # A mirror that is being synced can fail one index file; what matters is checked below.
    apt-get update -q || echo "make_sysroot.sh: apt-get update reported errors; continuing" >&2
  else
    die "apt does not know the $arch architecture: run tools/setup.sh, or as root: dpkg --add-architecture $arch && apt-get update"
  fi
fi

# The versions apt would fetch (one apt-cache call); they make the stamp.
wanted=()
for p in "${arch_packages[@]}"; do wanted+=("$p:$arch"); done
for p in "${all_packages[@]}"; do wanted+=("$p"); done
declare -A candidate=()
while read -r p v; do candidate[$p]="$v"; done < <(
  apt-cache policy "${wanted[@]}" 2>/dev/null | awk '/^[^ ].*:$/ {p = substr($0, 1, length($0) - 1)} /^  Candidate: / {print p, $2}')
stamp_text=""
for p in "${wanted[@]}"; do
  v="${candidate[$p]:-}"
  [ -n "$v" ] || v="${candidate[${p%:*}]:-}"  # apt prints architecture-independent names bare
  if [ -z "$v" ] || [ "$v" = "(none)" ]; then
    if [ "$(id -u)" -eq 0 ] && [ -z "${_LK_UPDATED:-}" ]; then
      echo "make_sysroot.sh: apt knows no $p; running apt-get update once"
      apt-get update -q || echo "make_sysroot.sh: apt-get update reported errors; continuing" >&2
      export _LK_UPDATED=1
      exec "$0" "$@"
    fi
    die "apt knows no package $p (run apt-get update? is the $arch architecture added?)"
  fi
  stamp_text+="$p $v"$'\n'
done

stamp="$sysroot/.latentkit-sysroot"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${stamp_text%$'\n'}" ]; then
  echo "sysroot: $sysroot is up to date (${#wanted[@]} packages), nothing to do."
  exit 0
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/latentkit-sysroot.XXXXXX")"
trap 'rm -rf -- "$work"' EXIT
chmod 0755 "$work"  # apt's _apt user downloads into it when run as root
echo "sysroot: downloading ${#wanted[@]} $arch packages into $work"
pkgs_with_versions=()
while read -r p v; do [ -n "$p" ] && pkgs_with_versions+=("$p=$v"); done <<<"$stamp_text"
sandbox=()
[ "$(id -u)" -eq 0 ] && sandbox=(-o APT::Sandbox::User=root)  # else a warning about _apt
(cd "$work" && apt-get download -q "${sandbox[@]}" "${pkgs_with_versions[@]}") \
  || die "apt-get download failed for: ${pkgs_with_versions[*]}"

# Unpack into a fresh folder beside the target, then swap it in: a half-made sysroot never
# carries a stamp.
tmp_root="$sysroot.partial"
rm -rf -- "$tmp_root"
mkdir -p "$tmp_root"
for deb in "$work"/*.deb; do
  dpkg -x "$deb" "$tmp_root" || die "dpkg -x $deb failed"
done
# What update-alternatives makes on a real system: numpy links libblas.so.3 and liblapack.so.3.
for library in blas lapack; do
  ln -sfn "$library/lib$library.so.3" "$tmp_root/usr/lib/$triplet/lib$library.so.3"
done
for f in usr/bin/python3.11 "usr/lib/$triplet/libblas.so.3" "usr/lib/$triplet/liblapack.so.3" \
         usr/lib/python3/dist-packages/numpy/__init__.py \
         usr/include/xnnpack.h usr/include/pthreadpool.h "usr/lib/$triplet/libXNNPACK.so" \
         "usr/lib/$triplet/libpthreadpool.so" usr/include/flatbuffers/flatbuffers.h \
         usr/include/stb/stb_image_write.h usr/include/CLI/CLI.hpp usr/include/doctest/doctest.h; do
  [ -e "$tmp_root/$f" ] || die "after unpacking, $f is missing from the sysroot"
done

# A Raspberry Pi's /proc/cpuinfo (see the header).
mkdir -p "$tmp_root/proc"
if [ "$arch" = arm64 ]; then
  # Raspberry Pi 4 Model B, 64-bit kernel: 4 x Cortex-A72 (implementer 0x41, part 0xd08).
  for i in 0 1 2 3; do
    printf 'processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n' "$i"
  done > "$tmp_root/proc/cpuinfo"
  printf 'Hardware\t: BCM2835\nRevision\t: c03111\nModel\t\t: Raspberry Pi 4 Model B Rev 1.1\n' >> "$tmp_root/proc/cpuinfo"
else
  # Raspberry Pi 2 Model B: 4 x Cortex-A7 (implementer 0x41, part 0xc07).
  for i in 0 1 2 3; do
    printf 'processor\t: %d\nmodel name\t: ARMv7 Processor rev 5 (v7l)\nBogoMIPS\t: 38.40\nFeatures\t: half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt vfpd32 lpae evtstrm \nCPU implementer\t: 0x41\nCPU architecture: 7\nCPU variant\t: 0x0\nCPU part\t: 0xc07\nCPU revision\t: 5\n\n' "$i"
  done > "$tmp_root/proc/cpuinfo"
  printf 'Hardware\t: BCM2835\nRevision\t: a21041\nModel\t\t: Raspberry Pi 2 Model B Rev 1.1\n' >> "$tmp_root/proc/cpuinfo"
fi

printf '%s' "${stamp_text%$'\n'}" > "$tmp_root/.latentkit-sysroot"
rm -rf -- "$sysroot"
mv -- "$tmp_root" "$sysroot"
echo "sysroot: $sysroot ready ($(du -sh "$sysroot" | cut -f1), packages listed in $stamp)"
