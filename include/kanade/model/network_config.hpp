// The shape of a network: every hyper-parameter needed to rebuild it, as the model file
// stores it. Plain data without libtorch, so a model file's header can be read and
// checked (and fuzzed) by code that never builds a network.
#pragma once

#include "kanade/music/bar_lookback.hpp"
#include "kanade/music/token_conditions.hpp"

#include <array>
#include <cstdint>
#include <string>

namespace kanade::model {

// Every hyper-parameter needed to rebuild a network; stored in the model file.
struct NetworkConfig {
    std::string arch = "kanade";  // "seed" or "kanade"
    int vocab_size = 0;
    int hidden = 512;
    int layers = 2;       // seed: always 2
    int embedding = 128;  // kanade only
    double dropout = 0.3;
    std::string activation = "relu";  // seed: between the two LSTMs ("linear" for none)
    int window = 40;                  // context length the network was trained on (tokens)
    // kanade only: learned embeddings beside the token's, summed into it (see
    // music/token_conditions.hpp): the metrical position, the bar's density and loudness,
    // a style of `styles` (0: none), and what came next one and two bars back.
    bool meter_input = false;
    bool control_input = false;
    int styles = 0;
    bool lookback_input = false;
    // The faithful mode's context in grid steps of music (0: `window` tokens).
    int window_steps = 0;

    bool conditioned() const { return meter_input || control_input || styles > 0 || lookback_input; }

    // Throws std::invalid_argument naming the first value out of range.
    void validate() const;
};

// Rows of each condition channel's embedding table; 0 where the network has none.
std::array<int, music::condition_count> condition_rows(const NetworkConfig& config);

// How many weights a network of this shape has, from the config alone (no allocation).
// Throws std::invalid_argument for a config out of range.
std::int64_t parameter_count(const NetworkConfig& config);

}  // namespace kanade::model
