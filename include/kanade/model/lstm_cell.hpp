// The LSTM cell update on packed gates, shared by the one-thread path (PackedLstm) and
// the two-thread one (RecurrenceTeam). Each row of gates holds [i | f | g | o], `units`
// wide each, already through the sigmoid; the g rows were doubled beforehand, so
// tanh(g) = 2 sigmoid(2g) - 1 needs no second transcendental.
#pragma once

#include <cmath>
#include <cstdint>

namespace kanade::model {

// cells [batch, units] updated in place; hidden row b at hidden + b * hidden_stride.
inline void lstm_cell_update(const float* gates, float* cells, float* hidden, std::int64_t batch, std::int64_t units,
                             std::int64_t hidden_stride) {
    for (std::int64_t b = 0; b < batch; ++b) {
        const float* row = gates + b * 4 * units;
        float* cell = cells + b * units;
        float* h = hidden + b * hidden_stride;
        for (std::int64_t j = 0; j < units; ++j) {
            const float input = row[j], forget = row[units + j];
            const float cell_input = 2.0f * row[2 * units + j] - 1.0f, output = row[3 * units + j];
            cell[j] = forget * cell[j] + input * cell_input;
            h[j] = output * std::tanh(cell[j]);
        }
    }
}

}  // namespace kanade::model
