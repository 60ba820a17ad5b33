#include "kanade/model/lstm_layer.hpp"

namespace kanade::model {

LstmLayerImpl::LstmLayerImpl(std::int64_t input_size, std::int64_t hidden_size) : hidden_size_(hidden_size) {
    // Keras defaults: glorot-uniform input weights, orthogonal recurrent weights,
    // zero bias with the forget gate's set to one.
    weight_ih_ = register_parameter("weight_ih", torch::empty({4 * hidden_size, input_size}));
    weight_hh_ = register_parameter("weight_hh", torch::empty({4 * hidden_size, hidden_size}));
    bias_ = register_parameter("bias", torch::zeros({4 * hidden_size}));
    zero_bias_ = register_buffer("zero_bias", torch::zeros({4 * hidden_size}));
    torch::NoGradGuard no_grad;
    torch::nn::init::xavier_uniform_(weight_ih_);
    for (int gate = 0; gate < 4; ++gate)
        torch::nn::init::orthogonal_(weight_hh_.narrow(0, gate * hidden_size, hidden_size));
    bias_.narrow(0, hidden_size, hidden_size).fill_(1.0);
}

std::pair<torch::Tensor, std::pair<torch::Tensor, torch::Tensor>> LstmLayerImpl::forward(const torch::Tensor& x,
                                                                                         const torch::Tensor& h0,
                                                                                         const torch::Tensor& c0) {
    auto batch = x.size(0);
    auto zeros = [&] { return torch::zeros({1, batch, hidden_size_}, x.options()); };
    auto h = h0.defined() ? h0.unsqueeze(0) : zeros();
    auto c = c0.defined() ? c0.unsqueeze(0) : zeros();
    auto [y, h_n, c_n] = torch::lstm(x, {h, c}, {weight_ih_, weight_hh_, bias_, zero_bias_},
                                     /*has_biases=*/true, /*num_layers=*/1, /*dropout=*/0.0,
                                     /*train=*/is_training(), /*bidirectional=*/false,
                                     /*batch_first=*/true);
    return {y, {h_n.squeeze(0), c_n.squeeze(0)}};
}

torch::Tensor LstmLayerImpl::step(const torch::Tensor& x, torch::Tensor& h, torch::Tensor& c) {
    auto gates = torch::addmm(bias_, x, weight_ih_.t()).addmm_(h, weight_hh_.t());
    auto chunks = gates.chunk(4, 1);
    auto input_gate = chunks[0].sigmoid();
    auto forget_gate = chunks[1].sigmoid();
    auto cell_input = chunks[2].tanh();
    auto output_gate = chunks[3].sigmoid();
    c = forget_gate * c + input_gate * cell_input;
    h = output_gate * c.tanh();
    return h;
}

}  // namespace kanade::model
