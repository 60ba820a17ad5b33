#!/usr/bin/env bash
# Builds and tests the core against a current libtorch 2.x on the CPU: Debian trixie
# (libtorch 2.6, GCC 14, CMake 3.31) in a folder made by debootstrap, entered with
# chroot. CI builds on bookworm's libtorch 1.13; this shows the code (and its tests)
# also hold on the libtorch a GPU machine's PyTorch brings, before device time is spent.
# Needs root and Debian's package mirror; about 15 minutes on 2 cores, 2 GB of disk.
#
#   tools/check-trixie.sh [ROOT]    (ROOT: where trixie goes, default /tmp/kanade-trixie)
#
# The parts that need the MIDI/audio libraries are left out (KANADE_WITH_IO=OFF, as on a
# GPU machine); the corpus and the Basic Pitch model are copied in where this machine has
# them, so their tests run there too.
set -euo pipefail
cd "$(dirname "$0")/.."
root=${1:-/tmp/kanade-trixie}
mirror=${KANADE_DEBIAN_MIRROR:-http://deb.debian.org/debian}

if [ ! -x "$root/usr/bin/g++" ]; then
    command -v debootstrap >/dev/null || apt-get install -y -q debootstrap
    debootstrap --variant=minbase trixie "$root" "$mirror"
    cp /etc/resolv.conf "$root/etc/"
    chroot "$root" bash -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends g++ cmake ninja-build libtorch-dev libcli11-dev doctest-dev nlohmann-json3-dev'
fi
mountpoint -q "$root/proc" || mount --bind /proc "$root/proc"
mountpoint -q "$root/dev" || mount --bind /dev "$root/dev"
trap 'umount "$root/proc" "$root/dev" 2>/dev/null || true' EXIT

# The committed tree (what CI would build), and the test data this machine has.
rm -rf "$root/src/kanade"
mkdir -p "$root/src"
git clone -q "$PWD" "$root/src/kanade"
for data in /usr/share/games/openttd /usr/share/games/simutrans /usr/local/share/kanade/basic-pitch; do
    [ -d "$data" ] && mkdir -p "$root$(dirname "$data")" && cp -a "$data" "$root$(dirname "$data")/"
done
need=""
[ -d /usr/share/games/openttd ] && need="corpus"
[ -d /usr/local/share/kanade/basic-pitch ] && need="$need${need:+,}basic-pitch"

chroot "$root" bash -c "cd /src/kanade && g++ --version | head -1 &&
    grep -h 'define TORCH_VERSION_M' /usr/include/torch/csrc/api/include/torch/version.h &&
    cmake -S . -B build -G Ninja -DKANADE_WITH_IO=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null &&
    ninja -C build -j$(nproc) >build.log 2>&1 || { tail -40 build.log; exit 1; }
    echo \"compiler warnings: \$(grep -c 'warning:' build.log)\"; grep -m 10 'warning:' build.log;
    KANADE_TESTS_REQUIRE=$need ctest --test-dir build -j$(nproc) --output-on-failure"
