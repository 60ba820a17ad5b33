// Generates token sequences from a model, offline (`kanade generate`), in either of the
// daemon's two inference modes (engine/inference_mode.hpp).
#pragma once

#include "kanade/engine/inference_mode.hpp"
#include "kanade/engine/sampler.hpp"
#include "kanade/model/model_file.hpp"

#include <vector>

namespace kanade::engine {

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
