#include "kanade/model/recurrence_team.hpp"

#include "kanade/model/lstm_cell.hpp"

#include <cmath>
#include <cstring>
#include <stdexcept>

namespace kanade::model {
namespace {

void spin_pause() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    std::this_thread::yield();
#endif
}

// The columns of part k's hidden units of each gate of a gate-major [.., 4H] tensor.
torch::Tensor part_columns(const torch::Tensor& gate_major, int part) {
    const auto hidden = gate_major.size(-1) / 4, units = hidden / 2;
    std::vector<torch::Tensor> gates;
    for (int g = 0; g < 4; ++g) gates.push_back(gate_major.narrow(-1, g * hidden + part * units, units));
    return torch::cat(gates, -1).contiguous();
}

}  // namespace

SplitLayerWeights SplitLayerWeights::split(const torch::Tensor& input_t, const torch::Tensor& recurrent_t,
                                           const torch::Tensor& bias, InferencePrecision precision) {
    const auto hidden = recurrent_t.size(0);
    if (hidden % 2 != 0 || recurrent_t.size(1) != 4 * hidden || bias.numel() != 4 * hidden)
        throw std::invalid_argument("RecurrenceTeam: recurrent weights must be [H, 4H] with H even");
    SplitLayerWeights weights;
    for (int k = 0; k < 2; ++k) {
        if (input_t.defined()) weights.input[k] = PackedMatrix(part_columns(input_t, k), precision);
        weights.recurrent[k] = PackedMatrix(part_columns(recurrent_t, k), precision);
        const auto part_bias = part_columns(bias.to(torch::kFloat32), k);
        weights.bias[k].assign(part_bias.data_ptr<float>(), part_bias.data_ptr<float>() + part_bias.numel());
    }
    return weights;
}

RecurrenceTeam::RecurrenceTeam() {
    steps_done_[0] = steps_done_[1] = 0;
    helper_ = std::thread([this] { helper_loop(); });
}

RecurrenceTeam::~RecurrenceTeam() {
    {
        std::lock_guard lock(handoff_);
        stop_ = true;
    }
    wake_.notify_all();
    helper_.join();
}

void RecurrenceTeam::helper_loop() {
    std::uint64_t seen = 0;
    for (;;) {
        {
            std::unique_lock lock(handoff_);
            wake_.wait(lock, [&] { return stop_ || started_ != seen; });
            if (stop_) return;
            seen = started_;
        }
        run_part(1);
        {
            std::lock_guard lock(handoff_);
            finished_ = seen;
        }
        wake_.notify_all();
    }
}

void RecurrenceTeam::run_part(int part) {
    const auto& w = window_;
    const std::int64_t hidden = w.hidden, units = hidden / 2, batch = w.batch, offset = part * units;
    const std::int64_t width = 4 * units;  // this part's gate columns
    float* gates = gates_[part].data();
    float* cells = cells_[part].data();
    std::fill(cells, cells + batch * units, 0.0f);
    const auto& input = w.weights->input[part];
    const auto& bias = w.weights->bias[part];
    float* window_inputs = window_inputs_[part].data();  // [B, T, width], when not stepwise
    if (w.input && !w.stepwise) {
        const auto rows = batch * w.time;
        for (std::int64_t r = 0; r < rows; ++r) std::copy(bias.begin(), bias.end(), window_inputs + r * width);
        input.accumulate(w.input, input.in(), window_inputs, width, rows);
    }
    const PackedMatrix& recurrent = w.weights->recurrent[part];
    auto gate_view = torch::from_blob(gates, {batch * width}, torch::kFloat32);
    auto cell_view = torch::from_blob(cells, {batch * units}, torch::kFloat32);
    auto scratch = torch::from_blob(scratch_[part].data(), {batch * units}, torch::kFloat32);
    for (std::int64_t t = 0; t < w.time; ++t) {
        // This step's gate inputs: the bias, to which this part's columns of the input
        // product are added now (stepwise); or the window's input product; or a row of
        // the first layer's table.
        for (std::int64_t b = 0; b < batch; ++b) {
            float* target = gates + b * width;
            if (w.stepwise) {
                std::copy(bias.begin(), bias.end(), target);
            } else if (w.input) {
                std::memcpy(target, window_inputs + (b * w.time + t) * width,
                            static_cast<std::size_t>(width) * sizeof(float));
            } else {
                const float* row = w.gate_rows.row(b, t);
                for (int g = 0; g < 4; ++g)
                    std::memcpy(target + g * units, row + g * hidden + offset,
                                static_cast<std::size_t>(units) * sizeof(float));
            }
        }
        if (w.stepwise) input.accumulate(w.input + t * input.in(), w.time * input.in(), gates, width, batch);
        if (t > 0)  // at t = 0 the state is zero
            recurrent.accumulate(hidden_[(t - 1) % 2].data(), hidden, gates, width, batch);
        float* next = hidden_[t % 2].data();
        lstm_cell_step(gate_view, cell_view, scratch, next + offset, batch, units, hidden);
        if (w.outputs)
            for (std::int64_t b = 0; b < batch; ++b)
                std::memcpy(w.outputs + (b * w.time + t) * hidden + offset, next + b * hidden + offset,
                            static_cast<std::size_t>(units) * sizeof(float));
        // Both halves of this step's hidden state are written before either goes on.
        steps_done_[part].store(t + 1, std::memory_order_release);
        for (int spins = 0; steps_done_[1 - part].load(std::memory_order_acquire) < t + 1; ++spins)
            if (spins < 4096)
                spin_pause();
            else
                std::this_thread::yield();  // the partner has no core: give it ours
    }
}

torch::Tensor RecurrenceTeam::run(const SplitLayerWeights& weights, const GateRows& gate_rows,
                                  const torch::Tensor& input, torch::Tensor* outputs) {
    std::unique_lock busy(busy_, std::try_to_lock);
    if (!busy.owns_lock()) return {};
    const auto hidden = weights.recurrent[0].in();
    if (input.defined() ? (weights.input[0].empty() || input.size(2) != weights.input[0].in())
                        : gate_rows.width != 4 * hidden)
        return {};
    const auto batch = input.defined() ? input.size(0) : gate_rows.batch;
    const auto time = input.defined() ? input.size(1) : gate_rows.time;
    const auto contiguous_input = input.defined() ? input.contiguous() : torch::Tensor();
    window_ = {&weights,
               input.defined() ? GateRows{} : gate_rows,
               input.defined() ? contiguous_input.data_ptr<float>() : nullptr,
               outputs ? outputs->data_ptr<float>() : nullptr,
               batch,
               time,
               hidden,
               input.defined() && batch >= stepwise_input_rows};
    for (int k = 0; k < 2; ++k) {
        hidden_[k].assign(static_cast<std::size_t>(batch * hidden), 0.0f);
        gates_[k].resize(static_cast<std::size_t>(batch * 2 * hidden));
        cells_[k].resize(static_cast<std::size_t>(batch * hidden / 2));
        scratch_[k].resize(static_cast<std::size_t>(batch * hidden / 2));
        if (input.defined() && !window_.stepwise)
            window_inputs_[k].resize(static_cast<std::size_t>(batch * time * 2 * hidden));
        steps_done_[k].store(0, std::memory_order_relaxed);
    }
    std::uint64_t window;
    {
        std::lock_guard lock(handoff_);
        window = ++started_;
    }
    wake_.notify_all();
    run_part(0);
    {
        std::unique_lock lock(handoff_);
        wake_.wait(lock, [&] { return finished_ == window; });
    }
    return torch::from_blob(hidden_[(time - 1) % 2].data(), {batch, hidden}, torch::kFloat32).clone();
}

}  // namespace kanade::model
