// The two ways to run the network, for the daemon and `kanade generate` alike:
//   faithful   each step re-runs the last `window` of the music from a fresh state, as
//              the network was trained (and as the student project generated)
//   streaming  the LSTM state is carried, one position per step: much cheaper
#pragma once

#include <stdexcept>
#include <string>

namespace kanade::engine {

enum class InferenceMode { faithful, streaming };

inline const char* inference_mode_name(InferenceMode mode) {
    return mode == InferenceMode::faithful ? "faithful" : "streaming";
}

// Throws std::invalid_argument naming the text.
inline InferenceMode parse_inference_mode(const std::string& text) {
    if (text == "faithful") return InferenceMode::faithful;
    if (text == "streaming") return InferenceMode::streaming;
    throw std::invalid_argument("unknown inference '" + text + "' (expected streaming or faithful)");
}

}  // namespace kanade::engine
