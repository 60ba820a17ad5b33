#include "kanade/model/lstm_cell.hpp"

#include "kanade/model/cpu_features.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define KANADE_X86 1
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"  // GCC 12's false alarm on AVX-512 intrinsics
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#endif

namespace kanade::model {
namespace {

// Two passes of libtorch's vectorised kernels (any CPU).
void cell_step_libtorch(torch::Tensor& gates, torch::Tensor& cells, torch::Tensor& scratch, float* hidden,
                        std::int64_t batch, std::int64_t units, std::int64_t hidden_stride) {
    gates.sigmoid_();
    const float* activated = gates.data_ptr<float>();
    float* cell = cells.data_ptr<float>();
    for (std::int64_t b = 0; b < batch; ++b) {
        const float* row = activated + b * 4 * units;
        float* c = cell + b * units;
        for (std::int64_t j = 0; j < units; ++j)
            c[j] = row[units + j] * c[j] + row[j] * (2.0f * row[2 * units + j] - 1.0f);
    }
    at::tanh_out(scratch, cells);
    const float* squashed = scratch.data_ptr<float>();
    for (std::int64_t b = 0; b < batch; ++b) {
        const float* output = activated + b * 4 * units + 3 * units;
        float* h = hidden + b * hidden_stride;
        for (std::int64_t j = 0; j < units; ++j) h[j] = output[j] * squashed[b * units + j];
    }
}

#ifdef KANADE_X86
// exp(x) for N vectors of 16 floats: x = n ln 2 + r, |r| <= ln 2 / 2, e^r by Cephes'
// degree-6 polynomial (within 2 ulp of expf), times 2^n by VSCALEFPS. Step by step
// across the N vectors: N independent chains side by side, where one chain alone
// waited on each instruction's latency (the cell ran at about one instruction a cycle).
template <int N>
__attribute__((target("avx512f"))) inline void exp_avx512(__m512 (&x)[N]) {
    constexpr float polynomial[] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                                    4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
    __m512 n[N], r[N], p[N];
    for (int i = 0; i < N; ++i) {
        x[i] = _mm512_min_ps(_mm512_max_ps(x[i], _mm512_set1_ps(-88.0f)), _mm512_set1_ps(88.0f));
        n[i] = _mm512_roundscale_ps(_mm512_mul_ps(x[i], _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    }
    for (int i = 0; i < N; ++i) r[i] = _mm512_fnmadd_ps(n[i], _mm512_set1_ps(0.693359375f), x[i]);  // ln 2 in two parts
    for (int i = 0; i < N; ++i) r[i] = _mm512_fnmadd_ps(n[i], _mm512_set1_ps(-2.12194440e-4f), r[i]);
    for (int i = 0; i < N; ++i) p[i] = _mm512_set1_ps(polynomial[0]);
    for (int k = 1; k < 6; ++k)
        for (int i = 0; i < N; ++i) p[i] = _mm512_fmadd_ps(p[i], r[i], _mm512_set1_ps(polynomial[k]));
    for (int i = 0; i < N; ++i) {
        const __m512 e = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p[i], r[i]), r[i], r[i]), _mm512_set1_ps(1.0f));
        x[i] = _mm512_scalef_ps(e, n[i]);
    }
}

// 1 / (1 + e^-x) of N vectors in place: the reciprocal's estimate (14 bits) and one
// Newton step (within an ulp or two), several times the throughput of a division.
template <int N>
__attribute__((target("avx512f"))) inline void sigmoid_avx512(__m512 (&x)[N]) {
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int i = 0; i < N; ++i) x[i] = _mm512_sub_ps(_mm512_setzero_ps(), x[i]);
    exp_avx512(x);
    for (int i = 0; i < N; ++i) {
        const __m512 denominator = _mm512_add_ps(one, x[i]);
        const __m512 estimate = _mm512_rcp14_ps(denominator);
        x[i] = _mm512_mul_ps(estimate, _mm512_fnmadd_ps(denominator, estimate, _mm512_set1_ps(2.0f)));
    }
}

// One pass: each 16 units' four gates activated, the cell and the hidden state updated,
// with nothing written back but c and h (tanh(x) = 2 sigmoid(2x) - 1, the g gate doubled).
// Two groups of 16 units at a time: their gates' eight sigmoids in two sets of four, then
// their two cells' tanh side by side.
__attribute__((target("avx512f"))) void cell_step_avx512(const float* gates, float* cells, float* hidden,
                                                         std::int64_t batch, std::int64_t units,
                                                         std::int64_t hidden_stride) {
    const __m512 one = _mm512_set1_ps(1.0f), two = _mm512_set1_ps(2.0f);
    for (std::int64_t b = 0; b < batch; ++b) {
        const float* row = gates + b * 4 * units;
        float* c = cells + b * units;
        float* h = hidden + b * hidden_stride;
        for (std::int64_t j = 0; j < units; j += 32) {
            __mmask16 lanes[2];
            __m512 gate[2][4], squashed[2];
            for (int g = 0; g < 2; ++g) {
                const auto left = units - j - 16 * g;
                lanes[g] = left >= 16 ? __mmask16(0xffff) : left > 0 ? __mmask16((1u << left) - 1) : __mmask16(0);
                for (int k = 0; k < 4; ++k) gate[g][k] = _mm512_maskz_loadu_ps(lanes[g], row + k * units + j + 16 * g);
                sigmoid_avx512(gate[g]);  // input, forget, candidate (as sigmoid(2g)), output
            }
            for (int g = 0; g < 2; ++g) {
                const __m512 candidate = _mm512_fmsub_ps(two, gate[g][2], one);
                const __m512 cell = _mm512_fmadd_ps(gate[g][1], _mm512_maskz_loadu_ps(lanes[g], c + j + 16 * g),
                                                    _mm512_mul_ps(gate[g][0], candidate));
                _mm512_mask_storeu_ps(c + j + 16 * g, lanes[g], cell);
                squashed[g] = _mm512_mul_ps(two, cell);
            }
            sigmoid_avx512(squashed);
            for (int g = 0; g < 2; ++g)
                _mm512_mask_storeu_ps(h + j + 16 * g, lanes[g],
                                      _mm512_mul_ps(gate[g][3], _mm512_fmsub_ps(two, squashed[g], one)));
        }
    }
}
#endif

}  // namespace

void lstm_cell_step(torch::Tensor& gates, torch::Tensor& cells, torch::Tensor& scratch, float* hidden,
                    std::int64_t batch, std::int64_t units, std::int64_t hidden_stride) {
#ifdef KANADE_X86
    if (cpu_features().avx512f)
        return cell_step_avx512(gates.data_ptr<float>(), cells.data_ptr<float>(), hidden, batch, units, hidden_stride);
#endif
    cell_step_libtorch(gates, cells, scratch, hidden, batch, units, hidden_stride);
}

}  // namespace kanade::model
