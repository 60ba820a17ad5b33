// `kanade eval`: how well a model predicts held-out music, measured the same way for
// every architecture. Each token is predicted from at most `window` tokens before it,
// run from a fresh state, exactly as the faithful generator uses the network.
#pragma once

#include "kanade/model/model_file.hpp"

#include <filesystem>
#include <vector>

namespace kanade::model {

struct EvalResult {
    std::size_t files = 0;
    std::size_t tokens = 0;          // tokens predicted
    std::size_t skipped_tokens = 0;  // not in the model's vocabulary
    double nll = 0;                  // mean negative log-likelihood per token (nats)
    double accuracy = 0;             // argmax == truth
    double perplexity = 0;
    double nll_per_note = 0;         // total NLL / note events (onsets)
    double nll_per_second = 0;       // total NLL / seconds of music
};

EvalResult evaluate(Model& model, const std::vector<std::filesystem::path>& files, torch::Device device,
                    int batch = 256);

}  // namespace kanade::model
