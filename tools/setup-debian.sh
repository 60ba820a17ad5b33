#!/bin/sh
# Installs the Debian 12 packages kanade builds, runs and tests with. Run as root.
#   tools/setup-debian.sh              everything (build, run, tests)
#   tools/setup-debian.sh --notation   also LilyPond, for `kanade notate` PDFs (large)
set -eu

if [ "$(id -u)" -ne 0 ]; then
    echo "setup-debian.sh: run as root (sudo tools/setup-debian.sh)" >&2
    exit 1
fi

packages="
  build-essential cmake pkg-config git
  libtorch-dev libopenblas0-pthread
  libcli11-dev doctest-dev libbenchmark-dev
  nlohmann-json3-dev
  librtmidi-dev libjack-jackd2-dev libasound2-dev portaudio19-dev libfluidsynth-dev libsndfile1-dev libsamplerate0-dev
  libboost-dev libtomlplusplus-dev liboscpack-dev libsystemd-dev
  fluid-soundfont-gm openttd-openmsx simutrans-data
  jackd2 ableton-link-dev ableton-link-utils iproute2
  clang libclang-rt-dev clang-format
"
# npm installs Basic Pitch's weights below. NodeSource's nodejs bundles npm and conflicts
# with Debian's npm package: take Debian's only where there is no npm yet.
command -v npm > /dev/null 2>&1 || packages="$packages nodejs npm"
if [ "${1:-}" = "--notation" ]; then
    packages="$packages lilypond"
fi

export DEBIAN_FRONTEND=noninteractive
# jackd2 asks whether to enable real-time priority; answer for it.
echo "jackd2 jackd/tweak_rt_limits boolean false" | debconf-set-selections
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $packages
# Chromium for the control page's browser test, with what it recommends (fonts among
# them), as it was tested.
apt-get install -y -q chromium

# Basic Pitch's weights for `kanade transcribe` (Spotify's npm package, Apache-2.0:
# model.json + one weights file), where kanade looks for them.
basic_pitch_dir=/usr/local/share/kanade/basic-pitch
mkdir -p "$basic_pitch_dir"
npm install --prefix "$basic_pitch_dir" --no-audit --no-fund @spotify/basic-pitch@1.0.1 ||
    echo "setup-debian.sh: could not install Basic Pitch's model with npm; kanade transcribe will say where it looked" >&2

# playwright-core drives Chromium headless in the control page's test; kanade never runs it.
browser_test_dir=/usr/local/share/kanade/browser-test
mkdir -p "$browser_test_dir"
npm install --prefix "$browser_test_dir" --no-audit --no-fund playwright-core@1.65.1 ||
    echo "setup-debian.sh: could not install playwright-core with npm; the control page's test will say skipped" >&2
