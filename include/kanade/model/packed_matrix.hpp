// A weight matrix laid out for y[B, out] += x[B, in] @ w, B a row per session (or per
// session and position, for a window's input product): every product of the packed
// inference path. At B = 1 the product is a
// matrix-vector product; OpenBLAS's general path measured 139 us for a 512 x 2048 one on
// this project's 2-core machine (AVX-512), the kernels here 44 us (float32) and 23 us
// (bfloat16); at 64 rows, one thread each, 1,410 us against 1,172 and 618 us
// (build/bench/kanade_micro_bench --benchmark_filter=recurrent_product).
//
// Layout: the output columns in blocks of 64; a block's weights are contiguous, row by
// row of w, so a block's 64 sums stay in registers for the whole input and each weight
// is read once per call (per 4 rows of x). bfloat16 interleaves pairs of w's rows, the
// operand layout of the CPU's bfloat16 dot-product instruction; int8 groups four rows
// (a quad), in tiles of 16 quads by 16 columns, the AMX tile's layout.
//
// Precisions: float32 (exact: the same sums in the same order as a plain loop);
// float16 weights (IEEE half, half the bytes; x and the sums stay float32); bfloat16
// weights and x (bfloat16 products summed in float32: twice the arithmetic per
// instruction of float32 and half its bytes, AVX-512 BF16 only); int8: weights as
// signed bytes with a scale per output column, each row of x as unsigned bytes with a
// scale per row (zero at 128), products summed exactly in int32 (four times float32's
// arithmetic per instruction with AVX-512 VNNI, sixteen times that again in AMX tiles
// for whole groups of 16 rows; the same sums, slower, without them).
#pragma once

#include "kanade/model/inference_precision.hpp"

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace kanade::model {

// The precision a CPU inference really runs in: bfloat16 needs AVX-512 BF16 and falls
// back to float16, which needs F16C and falls back to float32. int8 runs on any CPU
// (with the same results: its sums are exact), fastest with AVX-512 VNNI.
InferencePrecision supported_precision(InferencePrecision wanted);

class PackedMatrix {
public:
    PackedMatrix() = default;
    // w [in, out] (any dtype and strides, on the CPU), packed in `precision` as given:
    // callers choose it through supported_precision.
    PackedMatrix(const torch::Tensor& w, InferencePrecision precision);

    bool empty() const { return in_ == 0; }
    std::int64_t in() const { return in_; }
    std::int64_t out() const { return out_; }
    InferencePrecision precision() const { return precision_; }

    // y[b, :out] += x[b, :in] @ w for b < batch; rows at x + b * x_stride and
    // y + b * y_stride. Any batch, on the calling thread (two threads share a product
    // by splitting w's columns: RecurrenceTeam).
    void accumulate(const float* x, std::int64_t x_stride, float* y, std::int64_t y_stride, std::int64_t batch) const;
    // The same on contiguous float32 tensors x [B, in] and y [B, out].
    void accumulate(const torch::Tensor& x, torch::Tensor& y) const;

    static constexpr std::int64_t block_width = 64;

private:
    torch::Tensor data_;  // float32, 16-bit words (float16 / bfloat16) or bytes (int8), blocked
    // int8 only, one per output column (padded to whole blocks): w[k][j] ~ column_scales_[j] * q[k][j];
    // zero_point_sums_[j] = 128 * sum over k of q[k][j], what x's zero point adds to the sums.
    std::vector<float> column_scales_;
    std::vector<std::int32_t> zero_point_sums_;
    std::int64_t in_ = 0, out_ = 0;
    InferencePrecision precision_ = InferencePrecision::float32;
};

}  // namespace kanade::model
