// One LSTM layer with Keras's parameter layout: input weights [4H, in], recurrent
// weights [4H, H] and ONE bias [4H] (gate order i, f, g, o). Sequences run through
// libtorch's fused LSTM (cuDNN on CUDA); `step` is one cell update for streaming.
#pragma once

#include <torch/torch.h>

#include <utility>

namespace kanade::model {

class LstmLayerImpl : public torch::nn::Module {
public:
    LstmLayerImpl(std::int64_t input_size, std::int64_t hidden_size);

    // x [B,T,in] -> (y [B,T,H], (h [B,H], c [B,H])); state may be undefined (zeros).
    std::pair<torch::Tensor, std::pair<torch::Tensor, torch::Tensor>> forward(const torch::Tensor& x,
                                                                              const torch::Tensor& h0 = {},
                                                                              const torch::Tensor& c0 = {});
    // x [B,in]; h, c [B,H] updated in place of the references.
    torch::Tensor step(const torch::Tensor& x, torch::Tensor& h, torch::Tensor& c);

    std::int64_t hidden_size() const { return hidden_size_; }
    const torch::Tensor& weight_ih() const { return weight_ih_; }
    const torch::Tensor& weight_hh() const { return weight_hh_; }
    const torch::Tensor& bias() const { return bias_; }

private:
    std::int64_t hidden_size_;
    torch::Tensor weight_ih_, weight_hh_, bias_;
    torch::Tensor zero_bias_;  // libtorch's kernel wants two biases; Keras has one
};
TORCH_MODULE(LstmLayer);

}  // namespace kanade::model
