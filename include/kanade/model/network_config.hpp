// The shape of a network: every hyper-parameter needed to rebuild it, as the model file
// stores it. Plain data without libtorch, so a model file's header can be read and
// checked (and fuzzed) by code that never builds a network.
#pragma once

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
    int window = 40;                  // context length the network was trained on

    // Throws std::invalid_argument naming the first value out of range.
    void validate() const;
};

// How many weights a network of this shape has, from the config alone (no allocation).
// Throws std::invalid_argument for a config out of range.
std::int64_t parameter_count(const NetworkConfig& config);

}  // namespace kanade::model
