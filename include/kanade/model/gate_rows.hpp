// Where a layer's gate inputs for session b at step t are: a row of a [B, T, width]
// tensor, or a row of a table [V, width] chosen by the token id at (b, t). The first
// layer of an unconditioned network reads its token's projection in place this way:
// gathering a batch-64 window of the seed network's rows first wrote 21 MB a step.
#pragma once

#include <cstdint>

namespace kanade::model {

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
