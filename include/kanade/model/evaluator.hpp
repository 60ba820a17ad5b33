// `kanade eval`: how well a model predicts held-out music, measured the same way for
// every architecture, in either way the daemon runs it: faithful (each token predicted
// from at most `window` tokens, or `window_steps` grid steps, before it, from a fresh
// state) or streaming (the state carried from the piece's first token to its last).
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

struct EvalOptions {
    // "faithful", "streaming", or "auto": streaming for a network trained with its state
    // carried across windows (info carried_state), faithful otherwise.
    std::string mode = "auto";
    // A conditioned network is told each token's metrical position; its bar's density and
    // loudness and its style, which a listener would not know beforehand, only when asked
    // (false: 0, "not said", as the daemon plays by default).
    bool measured_controls = false;
    int batch = 256;
};
std::string resolved_mode(const Model& model, const EvalOptions& options);  // "faithful" or "streaming"

EvalResult evaluate(Model& model, const std::vector<std::filesystem::path>& files, torch::Device device,
                    const EvalOptions& options = {});

}  // namespace kanade::model
