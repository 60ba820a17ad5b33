// The LSTM cell update on packed gates, shared by the one-thread path (PackedLstm) and
// the two-thread one (RecurrenceTeam). Each row of gates holds [i | f | g | o], `units`
// wide each, before their activation; the g rows were doubled beforehand, so one
// vectorised sigmoid over all four gates gives tanh(g) = 2 sigmoid(2g) - 1. With
// AVX-512, one pass of our own exp does every unit's gates, cell and hidden state
// (libtorch's sigmoid and tanh passes were the largest cost of an int8 64-session
// faithful step after the products; bench/results/README.md); elsewhere libtorch's
// vectorised kernels, in two passes.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace kanade::model {

// gates [batch * 4 * units] (overwritten), cells [batch * units] (updated in place) and
// scratch [batch * units]: contiguous float32 views the caller keeps for a window.
// Hidden row b is written at hidden + b * hidden_stride.
void lstm_cell_step(torch::Tensor& gates, torch::Tensor& cells, torch::Tensor& scratch, float* hidden,
                    std::int64_t batch, std::int64_t units, std::int64_t hidden_stride);

}  // namespace kanade::model
