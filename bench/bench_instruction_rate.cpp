// How many multiply-adds a second one core does with each dot-product instruction the
// product kernels could use (16 independent accumulators, registers only): the ceiling
// that bench/results/README.md measures the kernels against, and the case for an int8
// (VNNI, then AMX) kernel.
//   build/bench/kanade_micro_bench --benchmark_filter=instruction_rate
#include "kanade/model/amx_tiles.hpp"
#include "kanade/model/cpu_features.hpp"

#include <benchmark/benchmark.h>

#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

namespace {

using kanade::model::cpu_features;

constexpr int accumulators = 16;
constexpr int rounds = 4096;  // per benchmark iteration

void report_rate(benchmark::State& state, int multiply_adds_per_instruction) {
    state.counters["multiply_adds_per_second"] = benchmark::Counter(
        static_cast<double>(state.iterations()) * rounds * accumulators * multiply_adds_per_instruction,
        benchmark::Counter::kIsRate);
}

// Each loop is written out: lambdas and templates would not carry the target attribute.
__attribute__((target("avx512f"))) void float32_fma(benchmark::State& state) {
    if (!cpu_features().avx512f) return state.SkipWithError("no AVX-512 on this CPU");
    const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(0.001f);
    for (auto _ : state) {
        __m512 sums[accumulators];
        for (int k = 0; k < accumulators; ++k) sums[k] = _mm512_set1_ps(static_cast<float>(k));  // 16 chains, not one
        for (int round = 0; round < rounds; ++round)
#pragma GCC unroll 16
            for (int k = 0; k < accumulators; ++k) sums[k] = _mm512_fmadd_ps(sums[k], a, b);
        for (auto& sum : sums) benchmark::DoNotOptimize(sum);
    }
    report_rate(state, 16);
}

__attribute__((target("avx512f,avx512bf16"))) void bfloat16_dot(benchmark::State& state) {
    if (!cpu_features().avx512_bf16) return state.SkipWithError("no AVX-512 BF16 on this CPU");
    const auto a = (__m512bh)_mm512_set1_epi16(0x3f80), b = (__m512bh)_mm512_set1_epi16(0x3a80);
    for (auto _ : state) {
        __m512 sums[accumulators];
        for (int k = 0; k < accumulators; ++k) sums[k] = _mm512_set1_ps(static_cast<float>(k));
        for (int round = 0; round < rounds; ++round)
#pragma GCC unroll 16
            for (int k = 0; k < accumulators; ++k) sums[k] = _mm512_dpbf16_ps(sums[k], a, b);
        for (auto& sum : sums) benchmark::DoNotOptimize(sum);
    }
    report_rate(state, 32);
}

__attribute__((target("avx512f,avx512vnni"))) void int8_dot(benchmark::State& state) {
    if (!cpu_features().avx512_vnni) return state.SkipWithError("no AVX-512 VNNI on this CPU");
    const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(5);
    for (auto _ : state) {
        __m512i sums[accumulators];
        for (int k = 0; k < accumulators; ++k) sums[k] = _mm512_set1_epi32(k);
        for (int round = 0; round < rounds; ++round)
#pragma GCC unroll 16
            for (int k = 0; k < accumulators; ++k) sums[k] = _mm512_dpbusd_epi32(sums[k], a, b);
        for (auto& sum : sums) benchmark::DoNotOptimize(sum);
    }
    report_rate(state, 64);
}

// AMX: four sums tiles, each TDPBUSD 16 x 16 sums of 64 byte products; the operand
// tiles loaded once (registers only, as above).
__attribute__((target("amx-tile,amx-int8"))) void int8_tiles(benchmark::State& state) {
    if (!cpu_features().amx_int8) return state.SkipWithError("no AMX-INT8 on this CPU (or not granted by the OS)");
    alignas(64) static const std::uint8_t operand[kanade::model::tile_rows * kanade::model::tile_row_bytes] = {};
    _tile_loadconfig(&kanade::model::tile_config);
    _tile_loadd(4, operand, 64);
    _tile_loadd(5, operand, 64);
    _tile_loadd(6, operand, 64);
    _tile_loadd(7, operand, 64);
    for (auto _ : state) {
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
        for (int round = 0; round < rounds; ++round) {
            _tile_dpbusd(0, 4, 6);
            _tile_dpbusd(1, 4, 7);
            _tile_dpbusd(2, 5, 6);
            _tile_dpbusd(3, 5, 7);
        }
        benchmark::ClobberMemory();
    }
    _tile_release();
    state.counters["multiply_adds_per_second"] = benchmark::Counter(
        static_cast<double>(state.iterations()) * rounds * 4 * 16 * 16 * 64, benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK(float32_fma)->Name("instruction_rate/float32_fma");
BENCHMARK(bfloat16_dot)->Name("instruction_rate/bfloat16_vdpbf16ps");
BENCHMARK(int8_dot)->Name("instruction_rate/int8_vpdpbusd");
BENCHMARK(int8_tiles)->Name("instruction_rate/int8_amx_tdpbusd");
#endif
