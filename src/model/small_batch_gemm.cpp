#include "kanade/model/small_batch_gemm.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define KANADE_X86 1
#endif

namespace kanade::model {
namespace {

void accumulate_portable(const float* x, const float* w, float* y, std::int64_t batch, std::int64_t in,
                         std::int64_t out) {
    for (std::int64_t k = 0; k < in; ++k) {
        const float* row = w + k * out;
        for (std::int64_t b = 0; b < batch; ++b) {
            const float scale = x[b * in + k];
            float* target = y + b * out;
            for (std::int64_t j = 0; j < out; ++j) target[j] += scale * row[j];
        }
    }
}

#ifdef KANADE_X86
// Outer loop over the shared dimension: each weight row is loaded once and used for
// every row of x, so the weights stream through the cache exactly once per call.
__attribute__((target("avx2,fma"))) void accumulate_avx2(const float* x, const float* w, float* y,
                                                         std::int64_t batch, std::int64_t in, std::int64_t out) {
    const std::int64_t vector_end = out - out % 8;
    for (std::int64_t k = 0; k < in; ++k) {
        const float* row = w + k * out;
        for (std::int64_t b = 0; b < batch; ++b) {
            const float scale_value = x[b * in + k];
            if (scale_value == 0.0f) continue;  // a fresh state is all zeros
            const __m256 scale = _mm256_set1_ps(scale_value);
            float* target = y + b * out;
            for (std::int64_t j = 0; j < vector_end; j += 8)
                _mm256_storeu_ps(target + j,
                                 _mm256_fmadd_ps(scale, _mm256_loadu_ps(row + j), _mm256_loadu_ps(target + j)));
            for (std::int64_t j = vector_end; j < out; ++j) target[j] += scale_value * row[j];
        }
    }
}

__attribute__((target("avx2,fma,f16c"))) void accumulate_half_avx2(const float* x, const std::uint16_t* w,
                                                                     float* y, std::int64_t batch, std::int64_t in,
                                                                     std::int64_t out) {
    const std::int64_t vector_end = out - out % 8;
    for (std::int64_t k = 0; k < in; ++k) {
        const std::uint16_t* row = w + k * out;
        for (std::int64_t b = 0; b < batch; ++b) {
            const float scale_value = x[b * in + k];
            if (scale_value == 0.0f) continue;
            const __m256 scale = _mm256_set1_ps(scale_value);
            float* target = y + b * out;
            for (std::int64_t j = 0; j < vector_end; j += 8) {
                const __m256 weights = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + j)));
                _mm256_storeu_ps(target + j, _mm256_fmadd_ps(scale, weights, _mm256_loadu_ps(target + j)));
            }
            for (std::int64_t j = vector_end; j < out; ++j)
                target[j] += scale_value * _cvtsh_ss(row[j]);
        }
    }
}

bool cpu_has_avx2_fma() {
    static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return has;
}

// From CPUID leaf 1 rather than __builtin_cpu_supports("f16c"), which clang 14 does not
// know (the fuzz harness of the model file builds this file with it).
bool cpu_has_f16c() {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
}
#endif

}  // namespace

void small_batch_gemm_accumulate(const float* x, const float* w, float* y, std::int64_t batch, std::int64_t in,
                                 std::int64_t out) {
#ifdef KANADE_X86
    if (cpu_has_avx2_fma()) return accumulate_avx2(x, w, y, batch, in, out);
#endif
    accumulate_portable(x, w, y, batch, in, out);
}

bool cpu_has_half_gemm() {
#ifdef KANADE_X86
    static const bool has = cpu_has_avx2_fma() && cpu_has_f16c();
    return has;
#else
    return false;
#endif
}

bool small_batch_gemm_accumulate_half(const float* x, const std::uint16_t* w, float* y, std::int64_t batch,
                                      std::int64_t in, std::int64_t out) {
#ifdef KANADE_X86
    if (!cpu_has_half_gemm()) return false;
    accumulate_half_avx2(x, w, y, batch, in, out);
    return true;
#else
    (void)x, (void)w, (void)y, (void)batch, (void)in, (void)out;
    return false;
#endif
}

}  // namespace kanade::model
