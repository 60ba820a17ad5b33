// Where a layer's gate inputs for session b at step t are: a row of a [B, T, width]
// tensor, or a row of a table [V, width] chosen by the token id at (b, t). The first
// layer of an unconditioned network reads its token's projection in place this way:
// gathering a batch-64 window of the seed network's rows first wrote 21 MB a step.
#pragma once

#include <cstdint>

namespace kanade::model {

// A later layer's input product (its input times W_ih, plus the bias) runs a step at a
// time, into that step's gates while they are in cache, when a step has this many rows
// or more: at batch 64 a whole window's product wrote 10 MB a layer that was read and
// copied again (the seed network's two-thread int8 step: 16.3 -> 14.6 ms). Below it
// the window's rows go in one product, which reads the weights once for all 40 steps
// (a step at a time made batch 1 twice as slow).
constexpr std::int64_t stepwise_input_rows = 16;

struct GateRows {
    const float* base = nullptr;        // [B, T, width], or the table [V, width] when ids are given
    const std::int64_t* ids = nullptr;  // [B, T] row ids into the table, or null
    std::int64_t batch = 0, time = 0, width = 0;

    bool empty() const { return base == nullptr; }
    const float* row(std::int64_t b, std::int64_t t) const {
        const auto index = b * time + t;
        return base + (ids ? ids[index] : index) * width;
    }
};

}  // namespace kanade::model
