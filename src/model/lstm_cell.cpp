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
// exp(x) for 16 floats: x = n ln 2 + r, |r| <= ln 2 / 2, e^r by Cephes' degree-6
// polynomial (within 2 ulp of expf), times 2^n by VSCALEFPS.
__attribute__((target("avx512f"))) inline __m512 exp_avx512(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-88.0f)), _mm512_set1_ps(88.0f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);  // ln 2 in two parts
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    const __m512 e = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(e, n);
}

// 1 / (1 + e^-x): the reciprocal's estimate (14 bits) and one Newton step (within an
// ulp or two), several times the throughput of a division.
__attribute__((target("avx512f"))) inline __m512 sigmoid_avx512(__m512 x) {
    const __m512 one = _mm512_set1_ps(1.0f);
    const __m512 denominator = _mm512_add_ps(one, exp_avx512(_mm512_sub_ps(_mm512_setzero_ps(), x)));
    const __m512 estimate = _mm512_rcp14_ps(denominator);
    return _mm512_mul_ps(estimate, _mm512_fnmadd_ps(denominator, estimate, _mm512_set1_ps(2.0f)));
}

// One pass: each 16 units' four gates activated, the cell and the hidden state updated,
// with nothing written back but c and h (tanh(x) = 2 sigmoid(2x) - 1, the g gate doubled).
__attribute__((target("avx512f"))) void cell_step_avx512(const float* gates, float* cells, float* hidden,
                                                         std::int64_t batch, std::int64_t units,
                                                         std::int64_t hidden_stride) {
    const __m512 one = _mm512_set1_ps(1.0f), two = _mm512_set1_ps(2.0f);
    for (std::int64_t b = 0; b < batch; ++b) {
        const float* row = gates + b * 4 * units;
        float* c = cells + b * units;
        float* h = hidden + b * hidden_stride;
        for (std::int64_t j = 0; j < units; j += 16) {
            const __mmask16 lanes = units - j >= 16 ? __mmask16(0xffff) : __mmask16((1u << (units - j)) - 1);
            const __m512 input = sigmoid_avx512(_mm512_maskz_loadu_ps(lanes, row + j));
            const __m512 forget = sigmoid_avx512(_mm512_maskz_loadu_ps(lanes, row + units + j));
            const __m512 candidate =
                _mm512_fmsub_ps(two, sigmoid_avx512(_mm512_maskz_loadu_ps(lanes, row + 2 * units + j)), one);
            const __m512 output = sigmoid_avx512(_mm512_maskz_loadu_ps(lanes, row + 3 * units + j));
            const __m512 cell =
                _mm512_fmadd_ps(forget, _mm512_maskz_loadu_ps(lanes, c + j), _mm512_mul_ps(input, candidate));
            _mm512_mask_storeu_ps(c + j, lanes, cell);
            const __m512 squashed = _mm512_fmsub_ps(two, sigmoid_avx512(_mm512_mul_ps(two, cell)), one);
            _mm512_mask_storeu_ps(h + j, lanes, _mm512_mul_ps(output, squashed));
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
