#include "kanade/model/packed_lstm.hpp"

#include "kanade/model/lstm_cell.hpp"
#include "kanade/model/small_batch_gemm.hpp"

#include <stdexcept>
#include <string>

namespace kanade::model {
namespace {

// Rows [2H, 3H) of a gate-major tensor doubled: tanh(g) = 2 sigmoid(2g) - 1.
torch::Tensor double_g_gate(torch::Tensor gate_major, std::int64_t hidden) {
    gate_major = gate_major.clone();
    gate_major.narrow(0, 2 * hidden, hidden).mul_(2.0);
    return gate_major;
}

torch::Tensor packed(const torch::Tensor& t) { return t.detach().to(torch::kCPU, torch::kFloat32).contiguous(); }

// Token ids as a flat int64 CPU tensor; an id outside the vocabulary is an error, as the
// embedding module would make it.
torch::Tensor checked_ids(const torch::Tensor& ids, std::int64_t vocab) {
    auto flat = ids.to(torch::kCPU, torch::kInt64).reshape({-1});
    if (flat.numel() > 0 && (flat.min().item<std::int64_t>() < 0 || flat.max().item<std::int64_t>() >= vocab))
        throw std::out_of_range("token id outside the vocabulary of " + std::to_string(vocab));
    return flat;
}

// gates += x @ weights_t: the hand-written loop for a few rows (from the half-float
// copy when there is one), BLAS for many.
void accumulate_product(torch::Tensor& gates, const torch::Tensor& x, const torch::Tensor& weights_t,
                        const torch::Tensor& weights_half) {
    const auto batch = x.size(0);
    if (batch > small_batch_limit) {
        gates.addmm_(x, weights_t);
        return;
    }
    auto rows = x.contiguous();
    if (weights_half.defined() &&
        small_batch_gemm_accumulate_half(rows.data_ptr<float>(),
                                         reinterpret_cast<const std::uint16_t*>(weights_half.data_ptr()),
                                         gates.data_ptr<float>(), batch, weights_t.size(0), weights_t.size(1)))
        return;
    small_batch_gemm_accumulate(rows.data_ptr<float>(), weights_t.data_ptr<float>(), gates.data_ptr<float>(), batch,
                                weights_t.size(0), weights_t.size(1));
}

torch::Tensor as_half(const torch::Tensor& t) { return t.to(torch::kHalf).contiguous(); }

}  // namespace

InferencePrecision parse_inference_precision(const std::string& text) {
    if (text == "float32") return InferencePrecision::float32;
    if (text == "float16") return InferencePrecision::float16;
    throw std::invalid_argument("precision must be float32 or float16, not '" + text + "'");
}

const char* precision_name(InferencePrecision precision) {
    return precision == InferencePrecision::float16 ? "float16" : "float32";
}

PackedLstm::PackedLstm(const LstmWeights& weights, InferencePrecision precision, int threads)
    : vocab_(weights.vocab_size),
      precision_(cpu_has_half_gemm() ? precision : InferencePrecision::float32),
      between_layers_(weights.between_layers) {
    torch::NoGradGuard no_grad;
    if (weights.layers.empty()) throw std::invalid_argument("PackedLstm: a network without LSTM layers");
    hidden_ = weights.layers.front().weight_hh.size(1);
    const bool split_over_two = threads >= 2 && hidden_ % 2 == 0;  // each thread takes half the units
    for (std::size_t index = 0; index < weights.layers.size(); ++index) {
        const auto& layer = weights.layers[index];
        Layer packed_layer;
        packed_layer.input_t = double_g_gate(packed(layer.weight_ih), hidden_).t().contiguous();
        packed_layer.recurrent_t = double_g_gate(packed(layer.weight_hh), hidden_).t().contiguous();
        packed_layer.bias = double_g_gate(packed(layer.bias), hidden_);
        if (precision_ == InferencePrecision::float16) {
            packed_layer.input_half = as_half(packed_layer.input_t);
            packed_layer.recurrent_half = as_half(packed_layer.recurrent_t);
        }
        if (split_over_two)
            packed_layer.split = SplitRecurrentWeights::split(packed_layer.recurrent_t,
                                                              precision_ == InferencePrecision::float16);
        layers_.push_back(std::move(packed_layer));
    }
    if (split_over_two) team_ = std::make_unique<RecurrenceTeam>();
    // Every token's input to the first layer, projected once.
    const auto& first = layers_.front();
    torch::Tensor inputs;
    if (weights.embedding.defined()) {
        inputs = packed(weights.embedding);
    } else {
        // The student network's input: the id over the vocabulary size, as one float.
        inputs = torch::arange(vocab_, torch::kFloat32).div(static_cast<double>(vocab_)).unsqueeze(1);
    }
    first_table_ = torch::addmm(first.bias, inputs, first.input_t).contiguous();
    dense_t_ = packed(weights.dense_weight).t().contiguous();
    dense_bias_ = packed(weights.dense_bias);
}

torch::Tensor PackedLstm::activate(const torch::Tensor& x) const {
    if (between_layers_ == "relu") return torch::relu(x);
    if (between_layers_ == "tanh") return torch::tanh(x);
    return x;
}

torch::Tensor PackedLstm::first_gate_inputs(const torch::Tensor& ids) const {
    auto flat = checked_ids(ids, vocab_);
    return first_table_.index_select(0, flat).view({ids.size(0), ids.size(1), 4 * hidden_});
}

torch::Tensor PackedLstm::dense(const torch::Tensor& x) const { return torch::addmm(dense_bias_, x, dense_t_); }

void PackedLstm::cell(torch::Tensor& gates, torch::Tensor& h, torch::Tensor& c) const {
    gates.sigmoid_();  // vectorised; the doubled g rows give tanh in the update
    lstm_cell_update(gates.data_ptr<float>(), c.data_ptr<float>(), h.data_ptr<float>(), gates.size(0), hidden_,
                     hidden_);
}

torch::Tensor PackedLstm::run_layer(const Layer& layer, const torch::Tensor& gate_inputs, torch::Tensor* outputs) const {
    const auto batch = gate_inputs.size(0), time = gate_inputs.size(1);
    if (team_ && batch <= RecurrenceTeam::max_batch() && time > 1)
        if (auto h = team_->run(layer.split, gate_inputs, outputs); h.defined()) return h;
    auto h = torch::zeros({batch, hidden_});
    auto c = torch::zeros({batch, hidden_});
    auto gates = torch::empty({batch, 4 * hidden_});
    for (std::int64_t t = 0; t < time; ++t) {
        gates.copy_(gate_inputs.select(1, t));
        if (t > 0) accumulate_product(gates, h, layer.recurrent_t, layer.recurrent_half);  // at t = 0 the state is zero
        cell(gates, h, c);
        if (outputs) outputs->select(1, t).copy_(h);
    }
    return h;
}

// Runs every layer over ids [B, T]; returns the last layer's final hidden state and, when
// asked, all its hidden states.
torch::Tensor PackedLstm::run_stack(const torch::Tensor& ids, torch::Tensor* last_outputs) const {
    if (ids.dim() != 2 || ids.size(1) < 1) throw std::invalid_argument("PackedLstm: ids must be [batch, time>=1]");
    torch::NoGradGuard no_grad;
    const auto batch = ids.size(0), time = ids.size(1);
    auto gate_inputs = first_gate_inputs(ids);
    torch::Tensor h;
    for (std::size_t index = 0; index < layers_.size(); ++index) {
        const bool last = index + 1 == layers_.size();
        torch::Tensor outputs;
        if (!last || last_outputs) outputs = torch::empty({batch, time, hidden_});
        h = run_layer(layers_[index], gate_inputs, outputs.defined() ? &outputs : nullptr);
        if (last) {
            if (last_outputs) *last_outputs = outputs;
            break;
        }
        // The next layer's input projection for the whole window: one matrix product.
        const auto& next = layers_[index + 1];
        gate_inputs = torch::addmm(next.bias, activate(outputs).view({batch * time, hidden_}), next.input_t)
                          .view({batch, time, 4 * hidden_});
    }
    return h;
}

torch::Tensor PackedLstm::last_logits(const torch::Tensor& ids) const { return dense(run_stack(ids, nullptr)); }

torch::Tensor PackedLstm::all_logits(const torch::Tensor& ids) const {
    torch::Tensor outputs;
    run_stack(ids, &outputs);
    const auto batch = ids.size(0), time = ids.size(1);
    return dense(outputs.view({batch * time, hidden_})).view({batch, time, vocab_});
}

torch::Tensor PackedLstm::step(const torch::Tensor& ids, std::vector<torch::Tensor>& h,
                               std::vector<torch::Tensor>& c) const {
    torch::NoGradGuard no_grad;
    if (h.size() != layers_.size() || c.size() != layers_.size())
        throw std::invalid_argument("PackedLstm: the state has the wrong number of layers");
    auto flat = checked_ids(ids, vocab_);
    const auto batch = flat.size(0);
    auto gates = torch::empty({batch, 4 * hidden_});
    torch::Tensor x;
    for (std::size_t index = 0; index < layers_.size(); ++index) {
        const auto& layer = layers_[index];
        // New tensors for the new state: callers may still hold the old one.
        auto h_new = packed(h[index]).clone();
        auto c_new = packed(c[index]).clone();
        if (index == 0) {
            torch::index_select_out(gates, first_table_, 0, flat);
        } else {
            gates.copy_(layer.bias.expand({batch, 4 * hidden_}));
            accumulate_product(gates, activate(x), layer.input_t, layer.input_half);
        }
        accumulate_product(gates, h_new, layer.recurrent_t, layer.recurrent_half);
        cell(gates, h_new, c_new);
        h[index] = h_new;
        c[index] = c_new;
        x = h_new;
    }
    return dense(x);
}

}  // namespace kanade::model
