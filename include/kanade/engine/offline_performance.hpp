// Plays a model offline exactly as one kanaded session would: the same inference worker
// (sampling, constraints, step decoding, seeds), stepped by hand instead of by the clock,
// and the scheduler's rules for what sounds (a note lasts at most max_note_steps; a pitch
// struck again ends the note still sounding on it). `kanade generate` renders with it, so
// a user hears in the file what the daemon would play with the same settings.
#pragma once

#include "kanade/engine/generator.hpp"
#include "kanade/engine/session_settings.hpp"
#include "kanade/midi/note.hpp"
#include "kanade/music/token_conditions.hpp"

#include <memory>
#include <vector>

namespace kanade::engine {

struct OfflinePerformance {
    std::int64_t steps = 256;  // grid steps to play (steps_per_beat of the model's grid)
    InferenceMode mode = InferenceMode::streaming;
    std::uint64_t seed = 1;  // the daemon's engine.seed
    int max_note_steps = clock::default_max_note_steps;
    std::vector<int> prompt;  // the window to start from; empty: from nothing, as the daemon
    std::vector<music::TokenCondition> prompt_conditions;  // the prompt's, as its file had them; or empty
};

// The notes played on steps 0..steps-1, in beats from step 0.
std::vector<midi::Note> perform_offline(std::shared_ptr<model::Model> model, const SessionSettings& settings,
                                        const OfflinePerformance& performance, torch::Device device);

}  // namespace kanade::engine
