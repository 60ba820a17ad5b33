// The next-token networks. Both take token ids [batch, time] and give logits
// [batch, time, vocab] (a prediction at every position: training uses them all, the
// faithful generator the last). `step` runs one position with carried state, for
// streaming inference.
//
//   seed   the student network, exactly: the id as one float (id / V), LSTM 512 with
//          sequences -> activation -> LSTM 512 -> dropout -> dense V (softmax in the
//          loss). With V = 303: 3,307,311 parameters, as Keras counted them.
//   kanade a learned token embedding instead of one float, dropout between the LSTM
//          layers, then dense V. Optionally conditioned: each token's metrical position,
//          its bar's density and loudness and a style, as embeddings summed into the
//          token's (conditions [B,T,5] or [B,5] uint8/int64 values of
//          music::TokenCondition; undefined: all 0, "not said").
//
// Inference on the CPU (eval mode, no gradients, float32) runs through PackedLstm: the
// same arithmetic, several times faster per step; training and CUDA use the modules.
#pragma once

#include "kanade/model/lstm_layer.hpp"
#include "kanade/model/network_config.hpp"
#include "kanade/model/packed_lstm.hpp"

#include <torch/torch.h>

#include <array>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace kanade::model {

struct RecurrentState {
    std::vector<torch::Tensor> h, c;  // one [batch, hidden] each per layer
};

class NetworkImpl : public torch::nn::Module {
public:
    explicit NetworkImpl(const NetworkConfig& config);

    torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& conditions = {});  // [B,T] -> [B,T,V]
    // [B,T] -> [B,V], the last position
    torch::Tensor forward_last(const torch::Tensor& ids, const torch::Tensor& conditions = {});
    // [B] -> [B,V]
    torch::Tensor step(const torch::Tensor& ids, RecurrentState& state, const torch::Tensor& conditions = {});
    // [B,T] -> [B,T,V] from `state`, which is replaced by the state after the last position
    // (training across consecutive windows: truncated back-propagation through time).
    torch::Tensor forward_carried(const torch::Tensor& ids, const torch::Tensor& conditions, RecurrentState& state);
    RecurrentState initial_state(std::int64_t batch) const;

    const NetworkConfig& config() const { return config_; }
    std::int64_t parameter_count() const;

    // On by default; off runs every call through the libtorch modules (for comparison).
    void set_packed_inference(bool on) { packed_inference_ = on; }
    // The CPU path's numbers (see PackedMatrix); float32 by default.
    void set_inference_precision(InferencePrecision precision) { precision_ = precision; }
    InferencePrecision asked_inference_precision() const { return precision_; }
    // What CPU inference uses now (the asked precision as far as the CPU can: see
    // supported_precision).
    InferencePrecision inference_precision();
    // 2: a faithful window runs on two threads (RecurrenceTeam, for the faithful mode's
    // latency), at any batch; 1 by default.
    void set_inference_threads(int threads) { threads_ = threads; }
    int inference_threads() const { return threads_; }

private:
    torch::Tensor inputs(const torch::Tensor& ids, const torch::Tensor& conditions);  // ids [B,T] -> [B,T,in]
    torch::Tensor between_layers(const torch::Tensor& x);
    torch::Tensor lstm_outputs(const torch::Tensor& ids, const torch::Tensor& conditions);  // [B,T] -> [B,T,H]
    // The packed weights when this call may use them (repacked after any weight change).
    std::shared_ptr<const PackedLstm> packed_for_inference();

    NetworkConfig config_;
    torch::nn::Embedding embedding_{nullptr};
    std::array<torch::nn::Embedding, music::condition_count> condition_embeddings_{nullptr, nullptr, nullptr, nullptr,
                                                                                   nullptr, nullptr, nullptr};
    std::vector<LstmLayer> lstm_;
    torch::nn::Dropout dropout_{nullptr};
    torch::nn::Linear dense_{nullptr};

    bool packed_inference_ = true;
    InferencePrecision precision_ = InferencePrecision::float32;
    std::shared_ptr<std::mutex> packing_mutex_ = std::make_shared<std::mutex>();
    std::shared_ptr<const PackedLstm> packed_;
    InferencePrecision packed_precision_ = InferencePrecision::float32;
    int threads_ = 1, packed_threads_ = 1;
    std::vector<std::pair<const void*, std::int64_t>> packed_from_;  // data and version of each parameter
};
TORCH_MODULE(Network);

// Parameter names, shapes and counts of a network, in registration order.
struct ParameterInfo {
    std::string name;
    std::vector<std::int64_t> shape;
    std::int64_t count;
};
std::vector<ParameterInfo> describe_parameters(Network& network);

// A network of the same shape and settings with its own copy of the weights in host
// memory, wherever `network` lives: kept beside a GPU's, it is what inference falls back
// to when that GPU is lost (a lost device cannot hand its weights back).
Network copy_on_cpu(Network& network);

}  // namespace kanade::model
