// Generates token sequences from a model, offline (`kanade generate`). Two ways to run
// the network, the same two the daemon has:
//   faithful   each step re-runs the last `window` tokens from a fresh state, as the
//              network was trained (and as the student project generated)
//   streaming  the LSTM state is carried, one position per step: much cheaper
#pragma once

#include "kanade/engine/sampler.hpp"
#include "kanade/model/model_file.hpp"

#include <vector>

namespace kanade::engine {

enum class InferenceMode { faithful, streaming };

struct GenerateOptions {
    int steps = 200;  // tokens to generate
    SamplingOptions sampling;
    std::uint64_t seed = 1;
    InferenceMode mode = InferenceMode::faithful;
};

// A row of logits as plain floats on the CPU, for the sampler.
std::vector<float> logits_to_floats(const torch::Tensor& logits);

// Returns only the new tokens (ids). `prompt` must hold at least one id.
std::vector<int> generate(model::Model& model, const std::vector<int>& prompt, const GenerateOptions& options,
                          torch::Device device);

}  // namespace kanade::engine
