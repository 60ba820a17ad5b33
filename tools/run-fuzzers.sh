#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz) with clang, ASan and UBSan in build-fuzz/,
# then runs each one for SECONDS (default 60) from its committed seed corpus. Exits
# non-zero on any crash, leak, timeout (10 s per input) or allocation over 2 GB; the
# input that did it is left in build-fuzz/fuzz-artifacts/. The mutations are seeded
# (KANADE_FUZZ_SEED, default 1) so that a run repeats on a machine of the same speed and
# the test command cannot turn red by luck; KANADE_FUZZ_SEED=0 draws a fresh seed, to
# explore. Usage:
#   tools/run-fuzzers.sh [SECONDS] [HARNESS...]
set -euo pipefail

seconds=${1:-60}
seed=${KANADE_FUZZ_SEED:-1}
shift || true
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${KANADE_FUZZ_BUILD:-$repo/build-fuzz}
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(smf_reader osc_packet config model_header model_file audio_file http_request oscquery_command tfjs_model)

mkdir -p "$build"
CC=clang CXX=clang++ cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DKANADE_BUILD_FUZZERS=ON -DKANADE_BUILD_TESTS=OFF > "$build/configure.log" 2>&1 ||
    { cat "$build/configure.log"; exit 1; }
cmake --build "$build" -j"$(nproc)" --target "${harnesses[@]/#/fuzz_}"

mkdir -p "$build/fuzz-artifacts"
# Leaks in third-party codec libraries only (each one explained in the file).
export LSAN_OPTIONS="suppressions=$repo/tests/fuzz/lsan-suppressions.txt${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
status=0
for name in "${harnesses[@]}"; do
    work=$(mktemp -d)  # the fuzzer adds to its corpus: keep the committed seeds as they are
    cp -r "$repo/tests/fuzz/corpus/${name%%_*}/." "$work/" 2>/dev/null || true
    [ -d "$repo/tests/fuzz/corpus/$name" ] && cp -r "$repo/tests/fuzz/corpus/$name/." "$work/"
    echo "== fuzz_$name for ${seconds}s, seed $seed"
    if "$build/fuzz/fuzz_$name" -seed="$seed" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$build/fuzz-artifacts/$name-" -print_final_stats=1 "$work" > "$build/fuzz_$name.log" 2>&1; then
        grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "$build/fuzz_$name.log" | sed "s/^/   /"
    else
        status=1
        echo "   FAILED: fuzz_$name (log: $build/fuzz_$name.log)"
        grep -E "ERROR|SUMMARY|Test unit written" "$build/fuzz_$name.log" | head -20 | sed "s/^/   /"
    fi
    rm -rf "$work"
done
exit $status
