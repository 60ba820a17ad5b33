#include "kanade/model/packed_matrix.hpp"

#include "kanade/model/amx_tiles.hpp"
#include "kanade/model/cpu_features.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define KANADE_X86 1
// GCC 12 takes the undefined operand inside many AVX-512 intrinsics for an uninitialised
// variable of ours (a false alarm: those lanes are never read).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
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

std::int64_t quad_count(std::int64_t in) { return (in + 3) / 4; }
// int8 rows, of x and of each block's weights, are stored in whole tiles of 16 quads
// (64 inputs: the depth of one AMX tile product); the padding stands for zero.
constexpr std::int64_t tile_quads = 16, tile_columns = 16;
std::int64_t int8_quad_stride(std::int64_t in) { return (quad_count(in) + tile_quads - 1) / tile_quads * tile_quads; }

// Where the 4 bytes of quad q for column j lie in an int8 block: in tiles of 16 quads
// by 16 columns, each 1 KB tile contiguous and row by row of quads (the AMX operand's
// layout: a tile loads 16 consecutive lines, which the prefetcher follows).
std::int64_t int8_weight_offset(std::int64_t q, std::int64_t j) {
    return (q / tile_quads) * (tile_quads * 4 * block_width) + (j / tile_columns) * (tile_quads * 4 * tile_columns) +
           (q % tile_quads) * 4 * tile_columns + (j % tile_columns) * 4;
}

// int8: a value in steps of 1 / `inverse_step` (the largest magnitude is 127 steps),
// rounded to nearest, ties to even, as the vector conversion does.
std::int32_t quantised(float value, float inverse_step) {
    return static_cast<std::int32_t>(std::clamp(std::nearbyint(value * inverse_step), -127.0f, 127.0f));
}

struct Int8Steps {
    float step = 0, inverse = 0;  // both 0 for a row or column of zeros
};
Int8Steps int8_steps(float largest_magnitude) {
    if (!(largest_magnitude > 0)) return {};
    return {largest_magnitude / 127.0f, 127.0f / largest_magnitude};
}

float largest_magnitude_portable(const float* row, std::int64_t in) {
    float largest = 0;
    for (std::int64_t k = 0; k < in; ++k) largest = std::max(largest, std::abs(row[k]));
    return largest;
}

// One row of x as bytes (value + 128); `padded` bytes, those past `in` 128 (zero).
void quantise_row_portable(const float* row, std::int64_t in, float inverse_step, std::uint8_t* bytes,
                           std::int64_t padded) {
    for (std::int64_t k = 0; k < padded; ++k)
        bytes[k] = static_cast<std::uint8_t>(128 + (k < in ? quantised(row[k], inverse_step) : 0));
}

#ifdef KANADE_X86
// The same two on 16 floats at a time: the same products, the same rounding (the
// current mode, to nearest), so the same bytes as the portable loops.
// Four running maxima: one waited on each max's latency (4 cycles per 16 floats).
__attribute__((target("avx512f"))) float largest_magnitude_avx512(const float* row, std::int64_t in) {
    __m512 largest[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    std::int64_t k = 0;
    for (; k + 64 <= in; k += 64)
        for (int q = 0; q < 4; ++q)
            largest[q] = _mm512_max_ps(largest[q], _mm512_abs_ps(_mm512_loadu_ps(row + k + 16 * q)));
    for (; k + 16 <= in; k += 16) largest[0] = _mm512_max_ps(largest[0], _mm512_abs_ps(_mm512_loadu_ps(row + k)));
    const __m512 all = _mm512_max_ps(_mm512_max_ps(largest[0], largest[1]), _mm512_max_ps(largest[2], largest[3]));
    return std::max(_mm512_reduce_max_ps(all), largest_magnitude_portable(row + k, in - k));
}

__attribute__((target("avx512f"))) void quantise_row_avx512(const float* row, std::int64_t in, float inverse_step,
                                                            std::uint8_t* bytes, std::int64_t padded) {
    const __m512 inverse = _mm512_set1_ps(inverse_step), low = _mm512_set1_ps(-127.0f), high = _mm512_set1_ps(127.0f);
    const __m512i zero_point = _mm512_set1_epi32(128);
    std::int64_t k = 0;
    for (; k + 16 <= in; k += 16) {
        const __m512 steps = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(_mm512_loadu_ps(row + k), inverse), low), high);
        const __m512i values = _mm512_add_epi32(_mm512_cvtps_epi32(steps), zero_point);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(bytes + k), _mm512_cvtepi32_epi8(values));
    }
    quantise_row_portable(row + k, in - k, inverse_step, bytes + k, padded - k);
}
#endif

// x rows as unsigned bytes, four to 32 bits (x[4q] .. x[4q + 3], the dot-product
// instruction's other operand): x[k] ~ step * (byte - 128), one step per row, so a
// row's largest magnitude is 127 steps from zero. The padding bytes stand for zero.
// Per thread, grown only when a call needs more.
struct QuantisedRows {
    const std::uint32_t* quads;
    const float* steps;
};
QuantisedRows int8_quads(const float* x, std::int64_t x_stride, std::int64_t batch, std::int64_t in) {
    thread_local std::vector<std::uint32_t> quads;
    thread_local std::vector<float> steps;
    const auto per_row = int8_quad_stride(in);
    if (quads.size() < static_cast<std::size_t>(batch * per_row))
        quads.resize(static_cast<std::size_t>(batch * per_row));
    if (steps.size() < static_cast<std::size_t>(batch)) steps.resize(static_cast<std::size_t>(batch));
    auto largest_magnitude = largest_magnitude_portable;
    auto quantise_row = quantise_row_portable;
#ifdef KANADE_X86
    if (cpu_features().avx512f) largest_magnitude = largest_magnitude_avx512, quantise_row = quantise_row_avx512;
#endif
    for (std::int64_t b = 0; b < batch; ++b) {
        const float* row = x + b * x_stride;
        const auto row_steps = int8_steps(largest_magnitude(row, in));
        steps[static_cast<std::size_t>(b)] = row_steps.step;
        quantise_row(row, in, row_steps.inverse, reinterpret_cast<std::uint8_t*>(quads.data() + b * per_row),
                     4 * per_row);
    }
    return {quads.data(), steps.data()};
}

// Where one group of rows works on one block: x (float rows, bfloat16 pairs or int8
// quads), the block's weights, and the block's first column of y.
struct BlockTask {
    const void* x;
    std::int64_t x_stride;  // in 32-bit elements of x (floats, pairs or quads)
    const void* weights;
    std::int64_t in;
    float* y;
    std::int64_t y_stride;
    // int8 only: the group's row scales; the block's column scales and zero-point sums.
    const float* row_scales = nullptr;
    const float* column_scales = nullptr;
    const std::int32_t* zero_point_sums = nullptr;
};

// int8: y[j] += row_scale * column_scale[j] * (sum[j] - zero_point_sum[j]), in this order
// of float operations in every kernel, so that all give the same result.
inline float int8_result(std::int32_t sum, std::int32_t zero_point_sum, float row_scale, float column_scale, float y) {
    return std::fma(static_cast<float>(sum - zero_point_sum), row_scale * column_scale, y);
}

void block_int8_portable(const BlockTask& task, int rows) {
    const auto* w = static_cast<const std::int8_t*>(task.weights);
    for (int r = 0; r < rows; ++r) {
        const auto* x =
            reinterpret_cast<const std::uint8_t*>(static_cast<const std::uint32_t*>(task.x) + r * task.x_stride);
        std::int32_t sums[block_width] = {};
        for (std::int64_t q = 0; q < quad_count(task.in); ++q)
            for (std::int64_t j = 0; j < block_width; ++j)
                for (std::int64_t e = 0; e < 4; ++e)
                    sums[j] += static_cast<std::int32_t>(x[4 * q + e]) * w[int8_weight_offset(q, j) + e];
        float* y = task.y + r * task.y_stride;
        for (std::int64_t j = 0; j < block_width; ++j)
            y[j] = int8_result(sums[j], task.zero_point_sums[j], task.row_scales[r], task.column_scales[j], y[j]);
    }
}

// ---- Plain C++: any CPU, every precision (the reference the vector kernels equal).
void block_portable(const BlockTask& task, int rows, InferencePrecision precision) {
    if (precision == InferencePrecision::int8) return block_int8_portable(task, rows);
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
// int8_result on 16 columns of one row of y (those in `lanes`): the same float steps,
// for every int8 kernel that has AVX-512.
__attribute__((target("avx512f"))) inline void add_int8_result(__m512i sums, __m512i zero_point_sums, float row_scale,
                                                               __m512 column_scales, float* y,
                                                               __mmask16 lanes = 0xffff) {
    const __m512 scale = _mm512_mul_ps(_mm512_set1_ps(row_scale), column_scales);
    const __m512 exact = _mm512_cvtepi32_ps(_mm512_sub_epi32(sums, zero_point_sums));
    _mm512_mask_storeu_ps(y, lanes, _mm512_fmadd_ps(exact, scale, _mm512_maskz_loadu_ps(lanes, y)));
}

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

// Each instruction: 16 sums += the four products of x's bytes (unsigned) 4q .. 4q + 3
// with w's (signed) in rows 4q .. 4q + 3, exact in int32.
template <int Rows>
__attribute__((target("avx512f,avx512vnni"))) void block_int8_avx512(const BlockTask& task) {
    const auto* x = static_cast<const std::uint32_t*>(task.x);
    const auto* w = static_cast<const std::int8_t*>(task.weights);
    // The sums typed as 16 int32 lanes, the instruction's own type: held as __m512i
    // (8 int64 lanes), GCC 12 copied every sum to another register and back around each
    // instruction, 32 moves per 16 products, and the kernel ran at half its ceiling.
    __v16si sums[Rows][4];
    for (int r = 0; r < Rows; ++r)
        for (int q = 0; q < 4; ++q) sums[r][q] = (__v16si)_mm512_setzero_si512();
    const std::int64_t quads = quad_count(task.in);
    for (std::int64_t p = 0; p < quads; ++p) {
        __m512i weights[4];
        for (int q = 0; q < 4; ++q) weights[q] = _mm512_loadu_si512(w + int8_weight_offset(p, 16 * q));
        for (int r = 0; r < Rows; ++r) {
            const __m512i operand = _mm512_set1_epi32(static_cast<int>(x[r * task.x_stride + p]));
            for (int q = 0; q < 4; ++q)
                sums[r][q] = (__v16si)_mm512_dpbusd_epi32((__m512i)sums[r][q], operand, weights[q]);
        }
    }
    for (int q = 0; q < 4; ++q) {
        const __m512 column_scale = _mm512_loadu_ps(task.column_scales + 16 * q);
        const __m512i zero_point_sum = _mm512_loadu_si512(task.zero_point_sums + 16 * q);
        for (int r = 0; r < Rows; ++r)
            add_int8_result((__m512i)sums[r][q], zero_point_sum, task.row_scales[r], column_scale,
                            task.y + r * task.y_stride + 16 * q);
    }
}

// ---- AMX: the int8 product in tiles of 16 rows of 64 bytes: 16 rows of x's bytes (64
// inputs each); 16 quads of w for 16 columns (one 1 KB tile of the packed layout,
// int8_weight_offset: already the instruction's operand); 16 rows of 16 int32 sums.
// TDPBUSD adds the 16 x 16 x 64 products of one x tile and one w tile to a sums tile,
// 16 times VPDPBUSD's work per instruction. Tiles 0-3: the sums of two row tiles by two
// column tiles; 4, 5: x; 6, 7: w.
__attribute__((target("amx-tile"))) void start_tiles() { _tile_loadconfig(&tile_config); }

// Tiles released when a product ends, so that the 8 KB of tile state is not saved and
// restored on every context switch of this thread until its next product.
__attribute__((target("amx-tile"))) void end_tiles() { _tile_release(); }

// RowTiles x 16 rows of x on one block; y's first `columns` columns of those rows.
template <int RowTiles>
__attribute__((target("amx-tile,amx-int8,avx512f"))) void block_int8_amx(const BlockTask& task, std::int64_t columns) {
    const auto* x = static_cast<const std::uint8_t*>(task.x);
    const auto x_row_bytes = task.x_stride * 4;
    const auto* w = static_cast<const std::int8_t*>(task.weights);
    constexpr std::int64_t tile_bytes = tile_quads * 4 * tile_columns, sums_row_bytes = block_width * 4;
    alignas(64) std::int32_t sums[RowTiles * tile_rows][block_width];
    const auto depth = int8_quad_stride(task.in) / tile_quads;
    for (int half = 0; half < 2 && 32 * half < columns; ++half) {  // columns 32 half .. 32 half + 31
        _tile_zero(0);
        _tile_zero(1);
        if constexpr (RowTiles == 2) {
            _tile_zero(2);
            _tile_zero(3);
        }
        for (std::int64_t d = 0; d < depth; ++d) {
            const std::int8_t* weights = w + int8_weight_offset(d * tile_quads, 32 * half);
            _tile_loadd(6, weights, 4 * tile_columns);
            _tile_loadd(7, weights + tile_bytes, 4 * tile_columns);
            _tile_loadd(4, x + d * 64, x_row_bytes);
            _tile_dpbusd(0, 4, 6);
            _tile_dpbusd(1, 4, 7);
            if constexpr (RowTiles == 2) {
                _tile_loadd(5, x + tile_rows * x_row_bytes + d * 64, x_row_bytes);
                _tile_dpbusd(2, 5, 6);
                _tile_dpbusd(3, 5, 7);
            }
        }
        _tile_stored(0, &sums[0][32 * half], sums_row_bytes);
        _tile_stored(1, &sums[0][32 * half + 16], sums_row_bytes);
        if constexpr (RowTiles == 2) {
            _tile_stored(2, &sums[tile_rows][32 * half], sums_row_bytes);
            _tile_stored(3, &sums[tile_rows][32 * half + 16], sums_row_bytes);
        }
    }
    // The same float steps as every other int8 kernel (int8_result), a row at a time: y's
    // rows are often 4 KB apart, and 32 rows' lines of one column group share an L1 set.
    __m512 column_scales[4];
    __m512i zero_point_sums[4];
    __mmask16 masks[4];
    for (int q = 0; q < 4; ++q) {
        column_scales[q] = _mm512_loadu_ps(task.column_scales + 16 * q);
        zero_point_sums[q] = _mm512_loadu_si512(task.zero_point_sums + 16 * q);
        const auto valid = std::clamp<std::int64_t>(columns - 16 * q, 0, 16);
        masks[q] = static_cast<__mmask16>((1u << valid) - 1u);
    }
    for (int r = 0; r < RowTiles * tile_rows; ++r)
        for (int q = 0; q < 4; ++q)
            add_int8_result(_mm512_load_si512(&sums[r][16 * q]), zero_point_sums[q], task.row_scales[r],
                            column_scales[q], task.y + r * task.y_stride + 16 * q, masks[q]);
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
constexpr BlockKernel int8_avx512[max_group_rows] = {block_int8_avx512<1>, block_int8_avx512<2>, block_int8_avx512<3>,
                                                     block_int8_avx512<4>};
#endif

// One group of rows (at most max_group_rows) on one block, by the best kernel this CPU has.
void run_block(const BlockTask& task, int rows, InferencePrecision precision) {
#ifdef KANADE_X86
    const auto& cpu = cpu_features();
    if (cpu.avx512f) {
        if (precision == InferencePrecision::float32) return float32_avx512[rows - 1](task);
        if (precision == InferencePrecision::float16) return float16_avx512[rows - 1](task);
        if (precision == InferencePrecision::bfloat16 && cpu.avx512_bf16) return bfloat16_avx512[rows - 1](task);
        if (precision == InferencePrecision::int8 && cpu.avx512_vnni) return int8_avx512[rows - 1](task);
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
    if (precision_ == InferencePrecision::int8) {
        const auto quads = int8_quad_stride(in_);
        column_scales_.assign(static_cast<std::size_t>(blocks * block_width), 0.0f);
        zero_point_sums_.assign(column_scales_.size(), 0);
        std::vector<float> inverse_steps(column_scales_.size(), 0.0f);
        for (std::int64_t column = 0; column < out_; ++column) {
            float largest = 0;
            for (std::int64_t k = 0; k < in_; ++k) largest = std::max(largest, std::abs(value(k, column)));
            const auto steps = int8_steps(largest);
            column_scales_[static_cast<std::size_t>(column)] = steps.step;
            inverse_steps[static_cast<std::size_t>(column)] = steps.inverse;
        }
        data_ = torch::empty({blocks * quads * block_width * 4}, torch::kInt8);
        for (std::int64_t block = 0; block < blocks; ++block) {
            auto* block_data = data_.data_ptr<std::int8_t>() + block * quads * block_width * 4;
            for (std::int64_t q = 0; q < quads; ++q)
                for (std::int64_t j = 0; j < block_width; ++j) {
                    const auto column = block * block_width + j;
                    for (std::int64_t e = 0; e < 4; ++e) {
                        const auto weight =
                            quantised(value(4 * q + e, column), inverse_steps[static_cast<std::size_t>(column)]);
                        zero_point_sums_[static_cast<std::size_t>(column)] += 128 * weight;
                        block_data[int8_weight_offset(q, j) + e] = static_cast<std::int8_t>(weight);
                    }
                }
        }
        return;
    }
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
    // x as the kernels read it: 32-bit elements (floats, bfloat16 pairs or int8 quads).
    const void* rows = x;
    std::int64_t row_stride = x_stride, block_elements = in_ * block_width;
    const float* row_scales = nullptr;
    if (precision_ == InferencePrecision::bfloat16) {
        rows = bfloat16_pairs(x, x_stride, batch, in_);
        row_stride = pair_count(in_);
        block_elements = row_stride * 2 * block_width;
    } else if (precision_ == InferencePrecision::int8) {
        const auto quantised_rows = int8_quads(x, x_stride, batch, in_);
        rows = quantised_rows.quads;
        row_scales = quantised_rows.steps;
        row_stride = int8_quad_stride(in_);
        block_elements = row_stride * 4 * block_width;
    }
    const auto element_bytes = static_cast<std::int64_t>(data_.element_size());
    const auto* base = static_cast<const char*>(data_.data_ptr());
    // Where rows first .. of x meet one block of columns.
    auto task_at = [&](std::int64_t block, std::int64_t first) {
        const auto column = block * block_width;
        BlockTask task{static_cast<const std::uint32_t*>(rows) + first * row_stride,
                       row_stride,
                       base + block * block_elements * element_bytes,
                       in_,
                       y + first * y_stride + column,
                       y_stride};
        if (row_scales) {
            task.row_scales = row_scales + first;
            task.column_scales = column_scales_.data() + column;
            task.zero_point_sums = zero_point_sums_.data() + column;
        }
        return task;
    };
    std::int64_t tiled_rows = 0;  // rows done in AMX tiles; the rest by the kernels below
#ifdef KANADE_X86
    if (precision_ == InferencePrecision::int8 && cpu_features().amx_int8 && batch >= tile_rows) {
        tiled_rows = batch / tile_rows * tile_rows;
        start_tiles();
        for (std::int64_t block = 0; block < block_count(out_); ++block) {
            const auto columns = std::min(block_width, out_ - block * block_width);
            for (std::int64_t first = 0; first < tiled_rows; first += 2 * tile_rows) {
                if (first + 2 * tile_rows <= tiled_rows)
                    block_int8_amx<2>(task_at(block, first), columns);
                else
                    block_int8_amx<1>(task_at(block, first), columns);
            }
        }
        end_tiles();
    }
#endif
    for (std::int64_t block = 0; block < block_count(out_); ++block) {
        const auto columns = std::min(block_width, out_ - block * block_width);
        for (std::int64_t first = tiled_rows; first < batch; first += max_group_rows) {
            const int group = static_cast<int>(std::min<std::int64_t>(max_group_rows, batch - first));
            const BlockTask task = task_at(block, first);
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
