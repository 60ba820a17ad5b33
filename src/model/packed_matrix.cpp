#include "kanade/model/packed_matrix.hpp"

#include "kanade/model/cpu_features.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define KANADE_X86 1
#endif

namespace kanade::model {
namespace {

constexpr std::int64_t block_width = PackedMatrix::block_width;
constexpr int max_group_rows = 4;  // rows of x sharing one pass over a block's weights

// Round to nearest, ties to even, as the CPU's conversion does; NaN stays NaN.
std::uint16_t to_bfloat16(float value) {
    std::uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return 0x7fc0;
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return static_cast<std::uint16_t>(bits >> 16);
}

float from_bfloat16(std::uint16_t value) {
    const std::uint32_t bits = static_cast<std::uint32_t>(value) << 16;
    float result;
    std::memcpy(&result, &bits, sizeof result);
    return result;
}

float from_half(std::uint16_t value) { return static_cast<float>(c10::Half(value, c10::Half::from_bits())); }

std::int64_t block_count(std::int64_t out) { return (out + block_width - 1) / block_width; }
std::int64_t pair_count(std::int64_t in) { return (in + 1) / 2; }

// x rows as bfloat16 pairs (x[2p], x[2p + 1]) packed in 32 bits: the dot-product
// instruction's other operand. Per thread, grown only when a call needs more.
const std::uint32_t* bfloat16_pairs(const float* x, std::int64_t x_stride, std::int64_t batch, std::int64_t in) {
    thread_local std::vector<std::uint32_t> pairs;
    const auto per_row = pair_count(in);
    if (pairs.size() < static_cast<std::size_t>(batch * per_row))
        pairs.resize(static_cast<std::size_t>(batch * per_row));
    for (std::int64_t b = 0; b < batch; ++b) {
        const float* row = x + b * x_stride;
        std::uint32_t* target = pairs.data() + b * per_row;
        for (std::int64_t p = 0; p < per_row; ++p) {
            const std::uint32_t low = to_bfloat16(row[2 * p]);
            const std::uint32_t high = 2 * p + 1 < in ? to_bfloat16(row[2 * p + 1]) : 0u;
            target[p] = low | (high << 16);
        }
    }
    return pairs.data();
}

// Where one group of rows works on one block: x (float rows, or bfloat16 pairs), the
// block's weights, and the block's first column of y.
struct BlockTask {
    const void* x;
    std::int64_t x_stride;  // in elements of x (floats, or pairs)
    const void* weights;
    std::int64_t in;
    float* y;
    std::int64_t y_stride;
};

// ---- Plain C++: any CPU, every precision (the reference the vector kernels equal).
void block_portable(const BlockTask& task, int rows, InferencePrecision precision) {
    for (int r = 0; r < rows; ++r) {
        float* y = task.y + r * task.y_stride;
        if (precision == InferencePrecision::bfloat16) {
            const auto* x = static_cast<const std::uint32_t*>(task.x) + r * task.x_stride;
            const auto* w = static_cast<const std::uint16_t*>(task.weights);
            for (std::int64_t p = 0; p < pair_count(task.in); ++p) {
                const float low = from_bfloat16(static_cast<std::uint16_t>(x[p]));
                const float high = from_bfloat16(static_cast<std::uint16_t>(x[p] >> 16));
                for (std::int64_t j = 0; j < block_width; ++j)
                    y[j] += low * from_bfloat16(w[(p * block_width + j) * 2]) +
                            high * from_bfloat16(w[(p * block_width + j) * 2 + 1]);
            }
            continue;
        }
        const auto* x = static_cast<const float*>(task.x) + r * task.x_stride;
        for (std::int64_t k = 0; k < task.in; ++k) {
            for (std::int64_t j = 0; j < block_width; ++j) {
                const auto index = k * block_width + j;
                const float w = precision == InferencePrecision::float32
                                    ? static_cast<const float*>(task.weights)[index]
                                    : from_half(static_cast<const std::uint16_t*>(task.weights)[index]);
                y[j] += x[k] * w;
            }
        }
    }
}

#ifdef KANADE_X86
// ---- AVX-512: 4 registers of 16 sums per row, up to 4 rows (16 accumulators).
template <int Rows>
__attribute__((target("avx512f"))) void block_float32_avx512(const BlockTask& task) {
    const auto* x = static_cast<const float*>(task.x);
    const auto* w = static_cast<const float*>(task.weights);
    __m512 sums[Rows][4];
    for (int r = 0; r < Rows; ++r)
        for (int q = 0; q < 4; ++q) sums[r][q] = _mm512_loadu_ps(task.y + r * task.y_stride + 16 * q);
    for (std::int64_t k = 0; k < task.in; ++k) {
        const float* row = w + k * block_width;
        const __m512 w0 = _mm512_loadu_ps(row), w1 = _mm512_loadu_ps(row + 16), w2 = _mm512_loadu_ps(row + 32),
                     w3 = _mm512_loadu_ps(row + 48);
        for (int r = 0; r < Rows; ++r) {
            const __m512 scale = _mm512_set1_ps(x[r * task.x_stride + k]);
            sums[r][0] = _mm512_fmadd_ps(scale, w0, sums[r][0]);
            sums[r][1] = _mm512_fmadd_ps(scale, w1, sums[r][1]);
            sums[r][2] = _mm512_fmadd_ps(scale, w2, sums[r][2]);
            sums[r][3] = _mm512_fmadd_ps(scale, w3, sums[r][3]);
        }
    }
    for (int r = 0; r < Rows; ++r)
        for (int q = 0; q < 4; ++q) _mm512_storeu_ps(task.y + r * task.y_stride + 16 * q, sums[r][q]);
}

template <int Rows>
__attribute__((target("avx512f"))) void block_float16_avx512(const BlockTask& task) {
    const auto* x = static_cast<const float*>(task.x);
    const auto* w = static_cast<const std::uint16_t*>(task.weights);
    __m512 sums[Rows][4];
    for (int r = 0; r < Rows; ++r)
        for (int q = 0; q < 4; ++q) sums[r][q] = _mm512_loadu_ps(task.y + r * task.y_stride + 16 * q);
    for (std::int64_t k = 0; k < task.in; ++k) {
        const std::uint16_t* row = w + k * block_width;
        __m512 weights[4];
        for (int q = 0; q < 4; ++q)
            weights[q] =
                _mm512_maskz_cvtph_ps(0xffff, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 16 * q)));
        for (int r = 0; r < Rows; ++r) {
            const __m512 scale = _mm512_set1_ps(x[r * task.x_stride + k]);
            for (int q = 0; q < 4; ++q) sums[r][q] = _mm512_fmadd_ps(scale, weights[q], sums[r][q]);
        }
    }
    for (int r = 0; r < Rows; ++r)
        for (int q = 0; q < 4; ++q) _mm512_storeu_ps(task.y + r * task.y_stride + 16 * q, sums[r][q]);
}

// Each instruction: 16 sums += w[2p][j] x[2p] + w[2p + 1][j] x[2p + 1].
template <int Rows>
__attribute__((target("avx512f,avx512bf16"))) void block_bfloat16_avx512(const BlockTask& task) {
    const auto* x = static_cast<const std::uint32_t*>(task.x);
    const auto* w = static_cast<const std::uint16_t*>(task.weights);
    __m512 sums[Rows][4];
    for (int r = 0; r < Rows; ++r)
        for (int q = 0; q < 4; ++q) sums[r][q] = _mm512_loadu_ps(task.y + r * task.y_stride + 16 * q);
    const std::int64_t pairs = pair_count(task.in);
    for (std::int64_t p = 0; p < pairs; ++p) {
        const std::uint16_t* row = w + p * 2 * block_width;
        __m512bh weights[4];
        for (int q = 0; q < 4; ++q) weights[q] = (__m512bh)_mm512_loadu_si512(row + 32 * q);
        for (int r = 0; r < Rows; ++r) {
            const auto operand = (__m512bh)_mm512_set1_epi32(static_cast<int>(x[r * task.x_stride + p]));
            for (int q = 0; q < 4; ++q) sums[r][q] = _mm512_dpbf16_ps(sums[r][q], weights[q], operand);
        }
    }
    for (int r = 0; r < Rows; ++r)
        for (int q = 0; q < 4; ++q) _mm512_storeu_ps(task.y + r * task.y_stride + 16 * q, sums[r][q]);
}

// ---- AVX2: 8 registers of 8 sums, one row at a time (16 registers in all).
__attribute__((target("avx2,fma"))) void block_float32_avx2(const BlockTask& task) {
    const auto* x = static_cast<const float*>(task.x);
    const auto* w = static_cast<const float*>(task.weights);
    __m256 sums[8];
    for (int q = 0; q < 8; ++q) sums[q] = _mm256_loadu_ps(task.y + 8 * q);
    for (std::int64_t k = 0; k < task.in; ++k) {
        const __m256 scale = _mm256_set1_ps(x[k]);
        for (int q = 0; q < 8; ++q)
            sums[q] = _mm256_fmadd_ps(scale, _mm256_loadu_ps(w + k * block_width + 8 * q), sums[q]);
    }
    for (int q = 0; q < 8; ++q) _mm256_storeu_ps(task.y + 8 * q, sums[q]);
}

__attribute__((target("avx2,fma,f16c"))) void block_float16_avx2(const BlockTask& task) {
    const auto* x = static_cast<const float*>(task.x);
    const auto* w = static_cast<const std::uint16_t*>(task.weights);
    __m256 sums[8];
    for (int q = 0; q < 8; ++q) sums[q] = _mm256_loadu_ps(task.y + 8 * q);
    for (std::int64_t k = 0; k < task.in; ++k) {
        const __m256 scale = _mm256_set1_ps(x[k]);
        for (int q = 0; q < 8; ++q) {
            const auto* half = reinterpret_cast<const __m128i*>(w + k * block_width + 8 * q);
            sums[q] = _mm256_fmadd_ps(scale, _mm256_cvtph_ps(_mm_loadu_si128(half)), sums[q]);
        }
    }
    for (int q = 0; q < 8; ++q) _mm256_storeu_ps(task.y + 8 * q, sums[q]);
}

// Each AVX-512 kernel for 1 to max_group_rows rows, indexed by rows - 1.
using BlockKernel = void (*)(const BlockTask&);
constexpr BlockKernel float32_avx512[max_group_rows] = {block_float32_avx512<1>, block_float32_avx512<2>,
                                                        block_float32_avx512<3>, block_float32_avx512<4>};
constexpr BlockKernel float16_avx512[max_group_rows] = {block_float16_avx512<1>, block_float16_avx512<2>,
                                                        block_float16_avx512<3>, block_float16_avx512<4>};
constexpr BlockKernel bfloat16_avx512[max_group_rows] = {block_bfloat16_avx512<1>, block_bfloat16_avx512<2>,
                                                         block_bfloat16_avx512<3>, block_bfloat16_avx512<4>};
#endif

// One group of rows (at most max_group_rows) on one block, by the best kernel this CPU has.
void run_block(const BlockTask& task, int rows, InferencePrecision precision) {
#ifdef KANADE_X86
    const auto& cpu = cpu_features();
    if (cpu.avx512f) {
        if (precision == InferencePrecision::float32) return float32_avx512[rows - 1](task);
        if (precision == InferencePrecision::float16) return float16_avx512[rows - 1](task);
        if (cpu.avx512_bf16) return bfloat16_avx512[rows - 1](task);
    } else if (cpu.avx2_fma &&
               (precision == InferencePrecision::float32 || (precision == InferencePrecision::float16 && cpu.f16c))) {
        for (int r = 0; r < rows; ++r) {
            BlockTask row = task;
            row.x = static_cast<const float*>(task.x) + r * task.x_stride;
            row.y = task.y + r * task.y_stride;
            if (precision == InferencePrecision::float32)
                block_float32_avx2(row);
            else
                block_float16_avx2(row);
        }
        return;
    }
#endif
    block_portable(task, rows, precision);
}

}  // namespace

InferencePrecision parse_inference_precision(const std::string& text) {
    if (text == "float32") return InferencePrecision::float32;
    if (text == "float16") return InferencePrecision::float16;
    if (text == "bfloat16") return InferencePrecision::bfloat16;
    throw std::invalid_argument("precision must be float32, float16 or bfloat16, not '" + text + "'");
}

const char* precision_name(InferencePrecision precision) {
    switch (precision) {
        case InferencePrecision::float16: return "float16";
        case InferencePrecision::bfloat16: return "bfloat16";
        default: return "float32";
    }
}

InferencePrecision supported_precision(InferencePrecision wanted) {
    const auto& cpu = cpu_features();
    if (wanted == InferencePrecision::bfloat16 && !cpu.avx512_bf16) wanted = InferencePrecision::float16;
    if (wanted == InferencePrecision::float16 && !(cpu.f16c && cpu.avx2_fma)) wanted = InferencePrecision::float32;
    return wanted;
}

PackedMatrix::PackedMatrix(const torch::Tensor& w, InferencePrecision precision) : precision_(precision) {
    if (w.dim() != 2) throw std::invalid_argument("PackedMatrix: weights must be [in, out]");
    in_ = w.size(0);
    out_ = w.size(1);
    const auto source = w.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    const float* values = source.data_ptr<float>();
    const auto blocks = block_count(out_);
    auto value = [&](std::int64_t k, std::int64_t column) {
        return k < in_ && column < out_ ? values[k * out_ + column] : 0.0f;
    };
    if (precision_ == InferencePrecision::bfloat16) {
        const auto pairs = pair_count(in_);
        data_ = torch::empty({blocks * pairs * block_width * 2}, torch::kInt16);
        auto* target = reinterpret_cast<std::uint16_t*>(data_.data_ptr<std::int16_t>());
        for (std::int64_t block = 0; block < blocks; ++block)
            for (std::int64_t p = 0; p < pairs; ++p)
                for (std::int64_t j = 0; j < block_width; ++j)
                    for (std::int64_t e = 0; e < 2; ++e)
                        *target++ = to_bfloat16(value(2 * p + e, block * block_width + j));
        return;
    }
    data_ = torch::empty({blocks * in_ * block_width}, torch::kFloat32);
    float* target = data_.data_ptr<float>();
    for (std::int64_t block = 0; block < blocks; ++block)
        for (std::int64_t k = 0; k < in_; ++k)
            for (std::int64_t j = 0; j < block_width; ++j) *target++ = value(k, block * block_width + j);
    if (precision_ == InferencePrecision::float16) data_ = data_.to(torch::kHalf).contiguous();
}

void PackedMatrix::accumulate(const float* x, std::int64_t x_stride, float* y, std::int64_t y_stride,
                              std::int64_t batch) const {
    if (empty() || batch <= 0) return;
    const bool pairs = precision_ == InferencePrecision::bfloat16;
    const void* rows = pairs ? static_cast<const void*>(bfloat16_pairs(x, x_stride, batch, in_)) : x;
    const std::int64_t row_stride = pairs ? pair_count(in_) : x_stride;
    const auto element_bytes = static_cast<std::int64_t>(data_.element_size());
    const std::int64_t block_elements = (pairs ? pair_count(in_) * 2 : in_) * block_width;
    const auto* base = static_cast<const char*>(data_.data_ptr());
    for (std::int64_t block = 0; block < block_count(out_); ++block) {
        const auto column = block * block_width;
        const auto columns = std::min(block_width, out_ - column);
        for (std::int64_t first = 0; first < batch; first += max_group_rows) {
            const int group = static_cast<int>(std::min<std::int64_t>(max_group_rows, batch - first));
            const void* group_x =
                pairs ? static_cast<const void*>(static_cast<const std::uint32_t*>(rows) + first * row_stride)
                      : static_cast<const void*>(static_cast<const float*>(rows) + first * row_stride);
            BlockTask task{
                group_x, row_stride, base + block * block_elements * element_bytes, in_, y + first * y_stride + column,
                y_stride};
            if (columns == block_width) {
                run_block(task, group, precision_);
                continue;
            }
            // The last, narrower block works on a full-width copy of its columns.
            float partial[max_group_rows][block_width] = {};
            for (int r = 0; r < group; ++r) std::copy_n(task.y + r * y_stride, columns, partial[r]);
            BlockTask narrow = task;
            narrow.y = &partial[0][0];
            narrow.y_stride = block_width;
            run_block(narrow, group, precision_);
            for (int r = 0; r < group; ++r) std::copy_n(partial[r], columns, task.y + r * y_stride);
        }
    }
}

void PackedMatrix::accumulate(const torch::Tensor& x, torch::Tensor& y) const {
    if (x.dim() != 2 || y.dim() != 2 || x.size(1) != in_ || y.size(1) != out_ || x.size(0) != y.size(0) ||
        !y.is_contiguous() || x.scalar_type() != torch::kFloat32 || y.scalar_type() != torch::kFloat32)
        throw std::invalid_argument("PackedMatrix: x and y do not match the weights");
    const auto rows = x.contiguous();
    accumulate(rows.data_ptr<float>(), in_, y.data_ptr<float>(), out_, x.size(0));
}

}  // namespace kanade::model
