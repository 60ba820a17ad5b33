#include "kanade/model/network.hpp"

#include <stdexcept>

namespace kanade::model {

NetworkImpl::NetworkImpl(const NetworkConfig& config) : config_(config) {
    config_.validate();
    std::int64_t input_size = 1;
    if (config_.arch == "kanade") {
        embedding_ = register_module("embedding", torch::nn::Embedding(config_.vocab_size, config_.embedding));
        input_size = config_.embedding;
        static constexpr std::array<const char*, music::condition_count> names = {
            "step_in_beat", "beat_in_bar", "density", "loudness", "style", "lookback_bar", "lookback_two_bars"};
        const auto rows = condition_rows(config_);
        for (std::size_t c = 0; c < music::condition_count; ++c)
            if (rows[c] > 0)
                condition_embeddings_[c] = register_module(std::string("condition_") + names[c],
                                                           torch::nn::Embedding(rows[c], config_.embedding));
    }
    for (int layer = 0; layer < config_.layers; ++layer) {
        lstm_.push_back(register_module("lstm" + std::to_string(layer + 1),
                                        LstmLayer(layer == 0 ? input_size : config_.hidden, config_.hidden)));
    }
    dropout_ = register_module("dropout", torch::nn::Dropout(config_.dropout));
    dense_ = register_module("dense", torch::nn::Linear(config_.hidden, config_.vocab_size));
}

torch::Tensor NetworkImpl::inputs(const torch::Tensor& ids, const torch::Tensor& conditions) {
    if (embedding_) {
        auto x = embedding_->forward(ids);
        if (!conditions.defined()) return x;
        auto values = conditions.to(ids.device(), torch::kInt64);
        for (std::size_t c = 0; c < music::condition_count; ++c)
            if (condition_embeddings_[c])
                x = x + condition_embeddings_[c]->forward(values.select(-1, static_cast<std::int64_t>(c)));
        return x;
    }
    // The student network saw each token as one number: its id over the vocabulary size.
    return ids.to(dense_->weight.scalar_type()).div(static_cast<double>(config_.vocab_size)).unsqueeze(-1);
}

torch::Tensor NetworkImpl::between_layers(const torch::Tensor& x) {
    if (config_.arch == "seed") {
        if (config_.activation == "relu") return torch::relu(x);
        if (config_.activation == "tanh") return torch::tanh(x);
        return x;
    }
    return dropout_->forward(x);
}

std::shared_ptr<const PackedLstm> NetworkImpl::packed_for_inference() {
    if (!packed_inference_ || is_training() || torch::GradMode::is_enabled()) return nullptr;
    const auto& weight = dense_->weight;
    if (!weight.device().is_cpu() || weight.scalar_type() != torch::kFloat32) return nullptr;
    std::vector<std::pair<const void*, std::int64_t>> now;
    for (const auto& parameter : parameters()) now.emplace_back(parameter.data_ptr(), parameter._version());
    std::lock_guard lock(*packing_mutex_);
    if (!packed_ || now != packed_from_ || packed_precision_ != precision_ || packed_threads_ != threads_) {
        LstmWeights weights;
        if (embedding_) weights.embedding = embedding_->weight;
        for (std::size_t c = 0; c < music::condition_count; ++c)
            if (condition_embeddings_[c]) weights.condition_embeddings[c] = condition_embeddings_[c]->weight;
        weights.vocab_size = config_.vocab_size;
        for (const auto& layer : lstm_)
            weights.layers.push_back({layer->weight_ih(), layer->weight_hh(), layer->bias()});
        weights.between_layers = config_.arch == "seed" ? config_.activation : "linear";
        weights.dense_weight = dense_->weight;
        weights.dense_bias = dense_->bias;
        packed_ = std::make_shared<const PackedLstm>(weights, precision_, threads_);
        packed_from_ = std::move(now);
        packed_precision_ = precision_;
        packed_threads_ = threads_;
    }
    return packed_;
}

InferencePrecision NetworkImpl::inference_precision() {
    torch::NoGradGuard no_grad;
    auto packed = packed_for_inference();
    return packed ? packed->precision() : InferencePrecision::float32;
}

torch::Tensor NetworkImpl::forward_last(const torch::Tensor& ids, const torch::Tensor& conditions) {
    if (auto packed = packed_for_inference()) return packed->last_logits(ids, conditions);
    // The dense layer on the last position only (a window's worth of logits is 40x the work).
    return dense_->forward(dropout_->forward(lstm_outputs(ids, conditions).select(1, ids.size(1) - 1)));
}

torch::Tensor NetworkImpl::forward(const torch::Tensor& ids, const torch::Tensor& conditions) {
    if (auto packed = packed_for_inference()) return packed->all_logits(ids, conditions);
    return dense_->forward(dropout_->forward(lstm_outputs(ids, conditions)));
}

torch::Tensor NetworkImpl::lstm_outputs(const torch::Tensor& ids, const torch::Tensor& conditions) {
    auto x = inputs(ids, conditions);
    for (std::size_t layer = 0; layer < lstm_.size(); ++layer) {
        if (layer > 0) x = between_layers(x);
        x = lstm_[layer]->forward(x).first;
    }
    return x;
}

torch::Tensor NetworkImpl::forward_carried(const torch::Tensor& ids, const torch::Tensor& conditions,
                                           RecurrentState& state) {
    auto x = inputs(ids, conditions);
    for (std::size_t layer = 0; layer < lstm_.size(); ++layer) {
        if (layer > 0) x = between_layers(x);
        auto [y, last] = lstm_[layer]->forward(x, state.h[layer], state.c[layer]);
        state.h[layer] = last.first;
        state.c[layer] = last.second;
        x = y;
    }
    return dense_->forward(dropout_->forward(x));
}

torch::Tensor NetworkImpl::step(const torch::Tensor& ids, RecurrentState& state, const torch::Tensor& conditions) {
    if (auto packed = packed_for_inference()) return packed->step(ids, state.h, state.c, conditions);
    auto x = inputs(ids.unsqueeze(1), conditions.defined() ? conditions.unsqueeze(1) : conditions).squeeze(1);
    for (std::size_t layer = 0; layer < lstm_.size(); ++layer) {
        if (layer > 0) x = between_layers(x);
        x = lstm_[layer]->step(x, state.h[layer], state.c[layer]);
    }
    return dense_->forward(dropout_->forward(x));
}

RecurrentState NetworkImpl::initial_state(std::int64_t batch) const {
    RecurrentState state;
    auto options = dense_->weight.options();
    for (std::size_t layer = 0; layer < lstm_.size(); ++layer) {
        state.h.push_back(torch::zeros({batch, config_.hidden}, options));
        state.c.push_back(torch::zeros({batch, config_.hidden}, options));
    }
    return state;
}

std::int64_t NetworkImpl::parameter_count() const {
    std::int64_t total = 0;
    for (const auto& parameter : parameters()) total += parameter.numel();
    return total;
}

std::vector<ParameterInfo> describe_parameters(Network& network) {
    std::vector<ParameterInfo> described;
    for (const auto& item : network->named_parameters()) {
        described.push_back({item.key(), item.value().sizes().vec(), item.value().numel()});
    }
    return described;
}

Network copy_on_cpu(Network& network) {
    Network copy(network->config());
    torch::NoGradGuard no_grad;
    auto from = network->named_parameters();
    for (auto& to : copy->named_parameters()) to.value().copy_(from[to.key()].to(torch::kCPU));
    auto from_buffers = network->named_buffers();
    for (auto& to : copy->named_buffers()) to.value().copy_(from_buffers[to.key()].to(torch::kCPU));
    copy->train(network->is_training());
    copy->set_inference_precision(network->asked_inference_precision());
    copy->set_inference_threads(network->inference_threads());
    return copy;
}

}  // namespace kanade::model
