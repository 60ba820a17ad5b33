#include "kanade/model/recurrence_team.hpp"

#include "kanade/model/lstm_cell.hpp"
#include "kanade/model/small_batch_gemm.hpp"

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

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

}  // namespace

SplitRecurrentWeights SplitRecurrentWeights::split(const torch::Tensor& recurrent_t, bool half) {
    const auto hidden = recurrent_t.size(0);
    if (hidden % 2 != 0 || recurrent_t.size(1) != 4 * hidden)
        throw std::invalid_argument("RecurrenceTeam: recurrent weights must be [H, 4H] with H even");
    const auto half_units = hidden / 2;
    SplitRecurrentWeights weights;
    for (int k = 0; k < 2; ++k) {
        std::vector<torch::Tensor> gates;
        for (int g = 0; g < 4; ++g) gates.push_back(recurrent_t.narrow(1, g * hidden + k * half_units, half_units));
        weights.part[k] = torch::cat(gates, 1).contiguous();
        if (half) weights.part_half[k] = weights.part[k].to(torch::kHalf).contiguous();
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

std::int64_t RecurrenceTeam::max_batch() { return small_batch_limit; }

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
    float* gates = gates_[part].data();
    float* cells = cells_[part].data();
    std::fill(cells, cells + batch * units, 0.0f);
    const bool half = w.weights->part_half[part].defined();
    const float* weights = w.weights->part[part].data_ptr<float>();
    const auto* weights_half =
        half ? reinterpret_cast<const std::uint16_t*>(w.weights->part_half[part].data_ptr()) : nullptr;
    for (std::int64_t t = 0; t < w.time; ++t) {
        for (std::int64_t b = 0; b < batch; ++b)
            for (int g = 0; g < 4; ++g)
                std::memcpy(gates + (b * 4 + g) * units, w.gate_inputs + (b * w.time + t) * 4 * hidden + g * hidden + offset,
                            static_cast<std::size_t>(units) * sizeof(float));
        if (t > 0) {  // at t = 0 the state is zero
            const float* previous = hidden_[(t - 1) % 2].data();
            if (!half || !small_batch_gemm_accumulate_half(previous, weights_half, gates, batch, hidden, 4 * units))
                small_batch_gemm_accumulate(previous, weights, gates, batch, hidden, 4 * units);
        }
        for (std::int64_t i = 0; i < batch * 4 * units; ++i) gates[i] = sigmoid(gates[i]);
        float* next = hidden_[t % 2].data();
        lstm_cell_update(gates, cells, next + offset, batch, units, hidden);
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

torch::Tensor RecurrenceTeam::run(const SplitRecurrentWeights& weights, const torch::Tensor& gate_inputs,
                                  torch::Tensor* outputs) {
    std::unique_lock busy(busy_, std::try_to_lock);
    if (!busy.owns_lock()) return {};
    const auto batch = gate_inputs.size(0), time = gate_inputs.size(1), hidden = gate_inputs.size(2) / 4;
    if (batch > max_batch() || hidden != weights.part[0].size(0)) return {};
    const auto inputs = gate_inputs.contiguous();
    window_ = {&weights, inputs.data_ptr<float>(), outputs ? outputs->data_ptr<float>() : nullptr, batch, time, hidden};
    for (int k = 0; k < 2; ++k) {
        hidden_[k].assign(static_cast<std::size_t>(batch * hidden), 0.0f);
        gates_[k].resize(static_cast<std::size_t>(batch * 2 * hidden));
        cells_[k].resize(static_cast<std::size_t>(batch * hidden / 2));
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
