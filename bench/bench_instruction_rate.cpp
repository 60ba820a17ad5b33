// How many multiply-adds a second one core does with each dot-product instruction the
// product kernels could use (16 independent accumulators, registers only): the ceiling
// that bench/results/README.md measures the kernels against, and the case for an int8
// (VNNI) kernel.
//   build/bench/kanade_micro_bench --benchmark_filter=instruction_rate
#include "kanade/model/cpu_features.hpp"

#include <benchmark/benchmark.h>

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

}  // namespace

BENCHMARK(float32_fma)->Name("instruction_rate/float32_fma");
BENCHMARK(bfloat16_dot)->Name("instruction_rate/bfloat16_vdpbf16ps");
BENCHMARK(int8_dot)->Name("instruction_rate/int8_vpdpbusd");
#endif
