// Deterministic weights for Kong et al.'s network that the PyTorch fixture generator
// (fixtures/piano_crnn/make_fixture.py) computes too: parity without shipping 136 MB of
// weights, and a checkpoint whose outputs are known for end-to-end tests.
#pragma once

#include "kanade/transcribe/piano_crnn_model.hpp"

#include <c10/util/Exception.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace kanade::test {

// make_fixture.py's formula_weights(), value for value.
inline torch::Tensor formula_weights(const std::string& name, c10::IntArrayRef shape) {
    std::int64_t n = 1;
    for (auto size : shape) n *= size;
    int byte_sum = 0;
    for (unsigned char c : name) byte_sum += c;
    const double phase = (byte_sum % 997) * 0.01;
    const auto last_dot = name.rfind('.');
    const std::string leaf = name.substr(last_dot + 1);
    const auto module_dot = name.rfind('.', last_dot - 1);
    const std::string module = name.substr(module_dot + 1, last_dot - module_dot - 1);
    const bool input_bn = module == "bn0";
    if (leaf == "num_batches_tracked") return torch::zeros(shape, torch::kInt64);
    std::vector<float> values(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        const double s = std::sin(0.7 * static_cast<double>(i) + phase);
        double v;
        if (leaf == "running_mean")
            v = input_bn ? -30 + 5 * s : 0.1 * s;
        else if (leaf == "running_var")
            v = input_bn ? 300 + 50 * std::abs(s) : 1 + 0.5 * std::abs(s);
        else if (shape.size() == 1)
            v = (module.rfind("bn", 0) == 0 && leaf == "weight") ? 1 + 0.1 * s : 0.1 * s;
        else
            v = s * (2.0 / std::sqrt(static_cast<double>(n / shape[0])));
        values[static_cast<std::size_t>(i)] = static_cast<float>(v);
    }
    return torch::tensor(values).reshape(shape);
}

// The whole model's weights from the formula, written as a flat checkpoint (the form the
// README's conversion command makes).
inline void write_formula_checkpoint(const std::filesystem::path& path, bool with_pedal = true) {
    kanade::transcribe::PianoCrnnModel blank(with_pedal);
    c10::Dict<std::string, at::Tensor> dict;
    for (const auto& [name, shape] : blank.expected_keys()) dict.insert(name, formula_weights(name, shape));
    const auto bytes = torch::pickle_save(c10::IValue(dict));
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace kanade::test
