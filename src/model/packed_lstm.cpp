#include "kanade/model/packed_lstm.hpp"

#include "kanade/model/lstm_cell.hpp"

#include <algorithm>
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
    auto flat = ids.to(torch::kCPU, torch::kInt64).reshape({-1}).contiguous();
    if (flat.numel() > 0 && (flat.min().item<std::int64_t>() < 0 || flat.max().item<std::int64_t>() >= vocab))
        throw std::out_of_range("token id outside the vocabulary of " + std::to_string(vocab));
    return flat;
}

// rows [N, in] @ weights + bias -> [N, out].
torch::Tensor product(const PackedMatrix& weights, const torch::Tensor& rows, const torch::Tensor& bias) {
    auto result = bias.unsqueeze(0).repeat({rows.size(0), 1});  // a copy: expand() would alias the bias
    weights.accumulate(rows, result);
    return result;
}

}  // namespace

PackedLstm::PackedLstm(const LstmWeights& weights, InferencePrecision precision, int threads)
    : vocab_(weights.vocab_size), precision_(supported_precision(precision)), between_layers_(weights.between_layers) {
    torch::NoGradGuard no_grad;
    if (weights.layers.empty()) throw std::invalid_argument("PackedLstm: a network without LSTM layers");
    hidden_ = weights.layers.front().weight_hh.size(1);
    const bool split_over_two = threads >= 2 && hidden_ % 2 == 0;  // each thread takes half the units
    torch::Tensor first_input_t;
    for (std::size_t index = 0; index < weights.layers.size(); ++index) {
        const auto& layer = weights.layers[index];
        Layer packed_layer;
        auto input_t = double_g_gate(packed(layer.weight_ih), hidden_).t();
        auto recurrent_t = double_g_gate(packed(layer.weight_hh), hidden_).t();
        packed_layer.bias = double_g_gate(packed(layer.bias), hidden_);
        if (index == 0)
            first_input_t = input_t;
        else
            packed_layer.input = PackedMatrix(input_t, precision_);
        packed_layer.recurrent = PackedMatrix(recurrent_t, precision_);
        if (split_over_two)
            packed_layer.split = SplitLayerWeights::split(index == 0 ? torch::Tensor() : input_t, recurrent_t,
                                                          packed_layer.bias, precision_);
        layers_.push_back(std::move(packed_layer));
    }
    if (split_over_two) team_ = std::make_unique<RecurrenceTeam>();
    // Every token's input to the first layer, projected once.
    torch::Tensor inputs;
    if (weights.embedding.defined()) {
        inputs = packed(weights.embedding);
    } else {
        // The student network's input: the id over the vocabulary size, as one float.
        inputs = torch::arange(vocab_, torch::kFloat32).div(static_cast<double>(vocab_)).unsqueeze(1);
    }
    first_table_ = torch::addmm(layers_.front().bias, inputs, first_input_t).contiguous();
    // Conditions are summed into the embedding, so their projections add to the token's.
    for (std::size_t c = 0; c < music::condition_count; ++c)
        if (weights.condition_embeddings[c].defined())
            condition_tables_[c] = torch::mm(packed(weights.condition_embeddings[c]), first_input_t).contiguous();
    // The output layer stays float32 whatever the precision: it makes the logits sampled from.
    dense_ = PackedMatrix(packed(weights.dense_weight).t(), InferencePrecision::float32);
    dense_bias_ = packed(weights.dense_bias);
}

torch::Tensor PackedLstm::activate(const torch::Tensor& x) const {
    if (between_layers_ == "relu") return torch::relu(x);
    if (between_layers_ == "tanh") return torch::tanh(x);
    return x;
}

PackedLstm::FirstLayerInputs PackedLstm::first_layer_inputs(const torch::Tensor& ids,
                                                            const torch::Tensor& conditions) const {
    FirstLayerInputs inputs;
    inputs.ids = checked_ids(ids, vocab_);
    inputs.rows = {first_table_.data_ptr<float>(), inputs.ids.data_ptr<std::int64_t>(), ids.size(0), ids.size(1),
                   4 * hidden_};
    if (!conditions.defined()) return inputs;
    // Into a new tensor by index_select_out: index_select's own allocation cost it 3x.
    inputs.storage = torch::empty({inputs.ids.size(0), 4 * hidden_});
    torch::index_select_out(inputs.storage, first_table_, 0, inputs.ids);
    add_conditions(inputs.storage, conditions, inputs.ids.size(0));
    inputs.rows.base = inputs.storage.data_ptr<float>();
    inputs.rows.ids = nullptr;
    return inputs;
}

void PackedLstm::add_conditions(torch::Tensor& gates, const torch::Tensor& conditions, std::int64_t rows) const {
    if (!conditions.defined()) return;
    auto values = conditions.to(torch::kCPU, torch::kInt64).reshape({rows, -1});
    const auto width = 4 * hidden_;
    float* target = gates.data_ptr<float>();
    for (std::size_t c = 0; c < music::condition_count; ++c) {
        if (!condition_tables_[c].defined()) continue;
        auto column = checked_ids(values.select(1, static_cast<std::int64_t>(c)), condition_tables_[c].size(0));
        const std::int64_t* row_ids = column.data_ptr<std::int64_t>();
        const float* table = condition_tables_[c].data_ptr<float>();
        // Each row's projection added in place: no [rows, 4H] temporary per condition.
        for (std::int64_t r = 0; r < rows; ++r) {
            const float* projection = table + row_ids[r] * width;
            float* row = target + r * width;
            for (std::int64_t j = 0; j < width; ++j) row[j] += projection[j];
        }
    }
}

torch::Tensor PackedLstm::dense(const torch::Tensor& x) const { return product(dense_, x, dense_bias_); }

void PackedLstm::cell(torch::Tensor& gates, torch::Tensor& h, torch::Tensor& c, torch::Tensor& scratch) const {
    auto flat_gates = gates.view({-1}), flat_cells = c.view({-1});
    lstm_cell_step(flat_gates, flat_cells, scratch, h.data_ptr<float>(), gates.size(0), hidden_, hidden_);
}

torch::Tensor PackedLstm::run_layer(const Layer& layer, GateRows gate_rows, const torch::Tensor& input,
                                    torch::Tensor* outputs) const {
    const auto batch = input.defined() ? input.size(0) : gate_rows.batch;
    const auto time = input.defined() ? input.size(1) : gate_rows.time;
    if (team_ && time > 1)
        if (auto h = team_->run(layer.split, gate_rows, input, outputs); h.defined()) return h;
    const bool stepwise = input.defined() && batch >= stepwise_input_rows;
    const auto inputs = stepwise ? input.contiguous() : torch::Tensor();
    torch::Tensor window_inputs;  // the whole window's input product, when not stepwise
    if (input.defined() && !stepwise) {
        window_inputs = product(layer.input, input.reshape({batch * time, input.size(2)}), layer.bias);
        gate_rows = {window_inputs.data_ptr<float>(), nullptr, batch, time, 4 * hidden_};
    }
    auto h = torch::zeros({batch, hidden_});
    auto c = torch::zeros({batch, hidden_});
    auto gates = torch::empty({batch, 4 * hidden_});
    auto scratch = torch::empty({batch * hidden_});
    float* gate_data = gates.data_ptr<float>();
    const float* bias = layer.bias.data_ptr<float>();
    for (std::int64_t t = 0; t < time; ++t) {
        for (std::int64_t b = 0; b < batch; ++b)
            std::copy_n(stepwise ? bias : gate_rows.row(b, t), 4 * hidden_, gate_data + b * 4 * hidden_);
        if (stepwise) {
            const auto in = layer.input.in();
            layer.input.accumulate(inputs.data_ptr<float>() + t * in, time * in, gate_data, 4 * hidden_, batch);
        }
        if (t > 0) layer.recurrent.accumulate(h, gates);  // at t = 0 the state is zero
        cell(gates, h, c, scratch);
        if (outputs) outputs->select(1, t).copy_(h);
    }
    return h;
}

// Runs every layer over ids [B, T]; returns the last layer's final hidden state and, when
// asked, all its hidden states.
torch::Tensor PackedLstm::run_stack(const torch::Tensor& ids, const torch::Tensor& conditions,
                                    torch::Tensor* last_outputs) const {
    if (ids.dim() != 2 || ids.size(1) < 1) throw std::invalid_argument("PackedLstm: ids must be [batch, time>=1]");
    torch::NoGradGuard no_grad;
    const auto batch = ids.size(0), time = ids.size(1);
    torch::Tensor input, h;
    for (std::size_t index = 0; index < layers_.size(); ++index) {
        const bool last = index + 1 == layers_.size();
        torch::Tensor outputs;
        if (!last || last_outputs) outputs = torch::empty({batch, time, hidden_});
        const auto first_inputs = index == 0 ? first_layer_inputs(ids, conditions) : FirstLayerInputs{};
        h = run_layer(layers_[index], first_inputs.rows, input, outputs.defined() ? &outputs : nullptr);
        if (last) {
            if (last_outputs) *last_outputs = outputs;
            break;
        }
        input = activate(outputs);
    }
    return h;
}

torch::Tensor PackedLstm::last_logits(const torch::Tensor& ids, const torch::Tensor& conditions) const {
    return dense(run_stack(ids, conditions, nullptr));
}

torch::Tensor PackedLstm::all_logits(const torch::Tensor& ids, const torch::Tensor& conditions) const {
    torch::Tensor outputs;
    run_stack(ids, conditions, &outputs);
    const auto batch = ids.size(0), time = ids.size(1);
    return dense(outputs.view({batch * time, hidden_})).view({batch, time, vocab_});
}

torch::Tensor PackedLstm::step(const torch::Tensor& ids, std::vector<torch::Tensor>& h, std::vector<torch::Tensor>& c,
                               const torch::Tensor& conditions) const {
    torch::NoGradGuard no_grad;
    if (h.size() != layers_.size() || c.size() != layers_.size())
        throw std::invalid_argument("PackedLstm: the state has the wrong number of layers");
    auto flat = checked_ids(ids, vocab_);
    const auto batch = flat.size(0);
    auto gates = torch::empty({batch, 4 * hidden_});
    auto scratch = torch::empty({batch * hidden_});
    torch::Tensor x;
    for (std::size_t index = 0; index < layers_.size(); ++index) {
        const auto& layer = layers_[index];
        // New tensors for the new state: callers may still hold the old one.
        auto h_new = packed(h[index]).clone();
        auto c_new = packed(c[index]).clone();
        if (index == 0) {
            torch::index_select_out(gates, first_table_, 0, flat);
            add_conditions(gates, conditions, batch);
        } else {
            gates.copy_(layer.bias.expand({batch, 4 * hidden_}));
            layer.input.accumulate(activate(x), gates);
        }
        layer.recurrent.accumulate(h_new, gates);
        cell(gates, h_new, c_new, scratch);
        h[index] = h_new;
        c[index] = c_new;
        x = h_new;
    }
    return dense(x);
}

}  // namespace kanade::model
