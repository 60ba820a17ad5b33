// Two threads running one LSTM layer over a window together, for the faithful mode's
// 40 sequential steps at batch 1, where one core is bound by the recurrent product
// (a 512 x 2048 matrix-vector product per step and layer). Each thread owns half the
// hidden units: its columns of the four gates' weights and its half of the cell state,
// so each reads half the weights. They meet once per step, because the next product
// needs the whole hidden state: a spin on two atomics (about a microsecond), where a
// step's product takes tens. The helper thread sleeps between windows.
#pragma once

#include <torch/torch.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace kanade::model {

// One layer's recurrent weights split for the team: part k holds the columns of hidden
// units [k H/2, (k + 1) H/2) of each gate, gate-major: [H, 4 * H/2].
struct SplitRecurrentWeights {
    torch::Tensor part[2];       // float32
    torch::Tensor part_half[2];  // the same as half floats, or undefined
    // recurrent_t [H, 4H] as PackedLstm keeps it (g rows doubled); H must be even.
    static SplitRecurrentWeights split(const torch::Tensor& recurrent_t, bool half);
};

class RecurrenceTeam {
public:
    RecurrenceTeam();
    ~RecurrenceTeam();
    RecurrenceTeam(const RecurrenceTeam&) = delete;
    RecurrenceTeam& operator=(const RecurrenceTeam&) = delete;

    // The largest batch the team runs (the hand-written product's).
    static std::int64_t max_batch();

    // gate_inputs [B, T, 4H] (input product and bias done, g doubled), from a fresh
    // state; writes every hidden state into outputs [B, T, H] when given; returns the
    // last hidden state [B, H]. Returns an undefined tensor, doing nothing, when the team
    // is busy with another caller's window (the caller then runs it alone).
    torch::Tensor run(const SplitRecurrentWeights& weights, const torch::Tensor& gate_inputs, torch::Tensor* outputs);

private:
    struct Window {
        const SplitRecurrentWeights* weights = nullptr;
        const float* gate_inputs = nullptr;
        float* outputs = nullptr;
        std::int64_t batch = 0, time = 0, hidden = 0;
    };
    void run_part(int part);
    void helper_loop();

    std::mutex busy_;  // one window at a time; try_lock, never waited on
    Window window_;
    std::vector<float> hidden_[2];  // the whole hidden state, double-buffered by step parity
    std::vector<float> gates_[2], cells_[2];
    std::atomic<std::int64_t> steps_done_[2];

    std::mutex handoff_;
    std::condition_variable wake_;
    std::uint64_t started_ = 0, finished_ = 0;  // windows, under handoff_
    bool stop_ = false;
    std::thread helper_;
};

}  // namespace kanade::model
