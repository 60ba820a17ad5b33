// y[B, out] += x[B, in] @ w[in, out] for the few rows a recurrent step has (one per
// session). At batch 1 this is a matrix-vector product bound by reading w: OpenBLAS's
// general path measured 146 us for a 512 x 2048 product on this project's 2-core
// machine, this AVX2 loop 73 us (each weight row is read once for all rows of x).
// Large batches go to BLAS (addmm), which wins once the work is arithmetic-bound.
#pragma once

#include <cstdint>

namespace kanade::model {

// Row-major, contiguous. Uses AVX2+FMA when the CPU has them, plain C++ otherwise.
void small_batch_gemm_accumulate(const float* x, const float* w, float* y, std::int64_t batch, std::int64_t in,
                                 std::int64_t out);

// The same with w stored as IEEE half floats (half the bytes to read: 42 us for the
// product above). Needs F16C; returns false, doing nothing, on a CPU without it.
bool small_batch_gemm_accumulate_half(const float* x, const std::uint16_t* w, float* y, std::int64_t batch,
                                      std::int64_t in, std::int64_t out);
bool cpu_has_half_gemm();

// The largest batch small_batch_gemm_accumulate is meant for.
constexpr std::int64_t small_batch_limit = 4;  // measured: BLAS wins from about 8 rows

}  // namespace kanade::model
