// `kanade eval`: how well a model predicts held-out music, measured the same way for
// every architecture. Each token is predicted from at most `window` tokens before it,
// run from a fresh state, exactly as the faithful generator uses the network.
#pragma once

#include "kanade/model/model_file.hpp"

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kanade::model {

struct EvalResult {
    std::size_t files = 0;
    std::size_t tokens = 0;          // tokens predicted
    std::size_t skipped_tokens = 0;  // not in the model's vocabulary
    double nll = 0;                  // mean negative log-likelihood per token (nats)
    double accuracy = 0;             // argmax == truth
    double perplexity = 0;
    double nll_per_note = 0;              // total NLL / note events (onsets)
    double nll_per_second = 0;            // total NLL / seconds of music
    double note_events = 0, seconds = 0;  // in the evaluated files
    std::vector<double> nll_by_token;     // total NLL of the predictions of each token id
};

// nll_per_note split by token kind (music::TokenTable: "pitch", "duration", "velocity",
// "wait" for kanade tokens, "onset" for seed tokens): where the nats of each note event go.
std::map<std::string, double> nll_per_note_by_kind(const EvalResult& result, const music::Vocabulary& vocabulary,
                                                   std::string_view tokenizer);

EvalResult evaluate(Model& model, const std::vector<std::filesystem::path>& files, torch::Device device,
                    int batch = 256);

}  // namespace kanade::model
