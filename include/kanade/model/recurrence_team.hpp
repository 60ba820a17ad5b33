// Two threads running one LSTM layer over a window together, for the faithful mode's
// 40 sequential steps, where one core is bound by the recurrent product (a 512 x 2048
// matrix product per step and layer for the seed network). Each thread owns half the
// hidden units: its columns of the four gates' weights and its half of the cell state,
// so each reads half the weights and does half the arithmetic, the layer's input
// product for the whole window included. They meet once per step, because the next
// product needs the whole hidden state: a spin on two atomics (about a microsecond),
// where a step's product takes tens. The helper thread sleeps between windows.
#pragma once

#include "kanade/model/gate_rows.hpp"
#include "kanade/model/packed_matrix.hpp"

#include <torch/torch.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace kanade::model {

// One layer's weights split for the team: part k holds the columns of hidden units
// [k H/2, (k + 1) H/2) of each gate, gate-major: [in, 4 * H/2].
struct SplitLayerWeights {
    PackedMatrix input[2];       // empty for a layer whose gate inputs come precomputed
    PackedMatrix recurrent[2];   // [H, 4 * H/2]
    std::vector<float> bias[2];  // [4 * H/2]
    // As PackedLstm keeps them (g rows doubled): input_t [in, 4H] (undefined: none),
    // recurrent_t [H, 4H], bias [4H]; H must be even.
    static SplitLayerWeights split(const torch::Tensor& input_t, const torch::Tensor& recurrent_t,
                                   const torch::Tensor& bias, InferencePrecision precision);
};

class RecurrenceTeam {
public:
    RecurrenceTeam();
    ~RecurrenceTeam();
    RecurrenceTeam(const RecurrenceTeam&) = delete;
    RecurrenceTeam& operator=(const RecurrenceTeam&) = delete;

    // One layer over a window from a fresh state, given either its gate inputs, rows of
    // width 4H (input product and bias done, g doubled), or its input [B, T, in] (the
    // team does the input product; gate_rows empty). Writes every hidden state into
    // outputs [B, T, H] when given; returns the last hidden state [B, H]. Returns an
    // undefined tensor, doing nothing, when the team is busy with another caller's
    // window (the caller then runs it alone).
    torch::Tensor run(const SplitLayerWeights& weights, const GateRows& gate_rows, const torch::Tensor& input,
                      torch::Tensor* outputs);

private:
    struct Window {
        const SplitLayerWeights* weights = nullptr;
        GateRows gate_rows;            // or empty
        const float* input = nullptr;  // [B, T, in], or null
        float* outputs = nullptr;
        std::int64_t batch = 0, time = 0, hidden = 0;
        bool stepwise = false;  // the input product a step at a time (stepwise_input_rows)
    };
    void run_part(int part);
    void helper_loop();

    std::mutex busy_;  // one window at a time; try_lock, never waited on
    Window window_;
    std::vector<float> hidden_[2];  // the whole hidden state, double-buffered by step parity
    std::vector<float> gates_[2], cells_[2], scratch_[2];
    std::vector<float> window_inputs_[2];  // each part's gate inputs for the window [B, T, 4 * H/2]
    std::atomic<std::int64_t> steps_done_[2];

    std::mutex handoff_;
    std::condition_variable wake_;
    std::uint64_t started_ = 0, finished_ = 0;  // windows, under handoff_
    bool stop_ = false;
    std::thread helper_;
};

}  // namespace kanade::model
