#!/usr/bin/env bash
# One prepared run on a GPU machine (issue 17, items 1-3): builds the core, `kanade bench`
# and the trainer against the CUDA libtorch of the machine's PyTorch, runs the CUDA tests,
# then the CUDA rows of `kanade bench` (both architectures, faithful and streaming, batch
# 1 to 1024, libtorch's modules and the recorded CUDA graph), training in float32 and in
# mixed precision on the Debian corpus (validation loss, same seed and epochs), and
# training speed on the CPU; everything it prints lands in OUT (8 files at most, as the
# device tool brings back), written as it goes, so a run cut short still brings back
# what it did.
#
#   bench/gpu-record.sh --prepare   here, once: the header-only libraries the GPU machine
#                                   lacks (CLI11, doctest) as Debian packages in .device/
#   bench/gpu-record.sh OUT         there (the device tool: carry .device, OUT="$OUT")
#
# Without a GPU or PyTorch it runs the same steps against Debian's libtorch on the CPU
# (a dry run of the script); the CUDA tests then say skipped.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--prepare" ]; then
    mkdir -p .device
    grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >>.git/info/exclude
    (cd .device && apt-get download libcli11-dev doctest-dev)
    # The Debian corpus, for mixed-precision training against float32 there.
    mkdir -p .device/corpus
    for folder in /usr/share/games/openttd/baseset/openmsx /usr/share/games/simutrans/music; do
        [ -d "$folder" ] && cp -r "$folder" ".device/corpus/$(basename "$(dirname "$folder")")-$(basename "$folder")"
    done
    ls -l .device .device/corpus
    exit
fi
out=${1:?usage: bench/gpu-record.sh OUT (or --prepare)}
mkdir -p "$out"
build=${KANADE_GPU_BUILD:-build-gpu}
# The device tool runs a command for 600 s at most: each step gets what is left of
# KANADE_GPU_SECONDS, less a margin for the steps after it.
deadline=$((SECONDS + ${KANADE_GPU_SECONDS:-560}))
say() { echo "gpu-record $(date +%T) +${SECONDS}s: $*" | tee -a "$out/steps.log"; }
within() {  # within SECONDS_AT_MOST RESERVE COMMAND...: the command, cut at its share of time
    local most=$1 reserve=$2 left
    shift 2
    left=$((deadline - SECONDS - reserve))
    [ "$left" -gt "$most" ] && left=$most
    if [ "$left" -lt 5 ]; then say "no time left for: $*"; return 124; fi
    timeout "$left" "$@"
}

prefix=""
if python3 -c 'import torch' 2>/dev/null; then
    prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
    python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda,
"cudnn", torch.backends.cudnn.version(), "gpu", torch.cuda.is_available() and torch.cuda.get_device_name(0))' \
        >"$out/machine.txt" 2>&1
fi
{ nvidia-smi -L; nproc; cmake --version | head -1; c++ --version | head -1; } >>"$out/machine.txt" 2>&1
flags=""
if ls .device/*.deb >/dev/null 2>&1; then
    unpacked=/tmp/kanade-device-debs
    mkdir -p "$unpacked"
    for deb in .device/*.deb; do dpkg -x "$deb" "$unpacked"; done
    prefix="$prefix;$unpacked/usr"
    flags="-isystem $unpacked/usr/include"  # doctest's CMake file names /usr/include
fi
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
# PyTorch's CMake files look for the CUDA toolkit through nvcc.
[ -x /usr/local/cuda/bin/nvcc ] && export PATH=/usr/local/cuda/bin:$PATH CUDACXX=/usr/local/cuda/bin/nvcc
say "configure (libtorch from ${prefix:-the system})"
if ! cmake -S . -B "$build" "${generator[@]}" -DKANADE_WITH_IO=OFF -DKANADE_BUILD_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_FLAGS="$flags" >"$out/build.log" 2>&1; then
    say "configure failed"; tail -40 "$out/build.log"; exit 1
fi
grep -q 'CUDA graph' "$out/build.log" && say "libtorch has CUDA (CUDA graphs built)"
say "build"
if ! within 400 200 cmake --build "$build" -j "$(nproc)" --target kanade kanade_tests_model >>"$out/build.log" 2>&1; then
    say "build failed"; grep -m 30 -A3 'error' "$out/build.log"; exit 1
fi

# The CUDA tests must not skip where there is a GPU (tests/skip.hpp).
require=""
[ -n "$(nvidia-smi -L 2>/dev/null)" ] && require="cuda,cuda-graphs"
say "tests: CUDA, then the model tests"
KANADE_TESTS_REQUIRE=$require within 60 150 "$build/tests/kanade_tests_model" -tc='*CUDA*' >"$out/tests.log" 2>&1
say "CUDA tests rc $? (tests.log)"
within 60 150 "$build/tests/kanade_tests_model" -tce='*two threads*' >>"$out/tests.log" 2>&1
say "model tests rc $? ($(tail -2 "$out/tests.log" | tr '\n' ' '))"

rows=(--device cuda --batch 1 --batch 8 --batch 64 --batch 256 --batch 1024 --steps 300 --max-row-seconds 4)
[ -z "$require" ] && rows=(--device cpu --quick)  # the dry run: the CPU would take an hour at batch 1024
say "kanade bench ${rows[*]}"
within 300 60 "$build/bin/kanade" bench --json "${rows[@]}" --realtime-seconds 3 --calls 5 \
    >"$out/bench.json" 2>"$out/bench.log"
say "bench rc $? (bench.json)"
if [ -n "$require" ] && [ -d .device/corpus ]; then
    # Whether mixed precision hurts the validation loss: the same seed and epochs both ways.
    for precision in float32 mixed; do
        flag=()
        [ $precision = mixed ] && flag=(--mixed-precision)
        within 60 60 "$build/bin/kanade" train .device/corpus -o "/tmp/kanade-$precision.kmodel" --device cuda \
            --epochs 4 --seed 1 -q "${flag[@]}" >>"$out/train.log" 2>&1
        say "train $precision rc $?"
        { echo "== $precision (epoch, losses, ...)"; cat "/tmp/kanade-$precision.kmodel.csv"; } >>"$out/train.log" 2>&1
    done
fi
if [ -n "$require" ]; then
    say "training on the CPU of the same machine, for the comparison"
    within 120 0 "$build/bin/kanade" bench --json --quick --device cpu >"$out/bench-cpu-quick.json" 2>>"$out/bench.log"
    say "cpu bench rc $? (bench-cpu-quick.json)"
fi
say "done"
