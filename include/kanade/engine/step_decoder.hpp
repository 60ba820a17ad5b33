// Turns the model's tokens, one at a time, into step plans on the grid: the streaming
// counterpart of Tokenizer::decode, reading what each token means from its TokenTable. A
// kanade token stream says itself when time moves (waits); a seed token is one onset a
// quarter note long, as the student model played.
#pragma once

#include "kanade/clock/step_plan.hpp"
#include "kanade/music/token_table.hpp"

#include <functional>

namespace kanade::engine {

// The decoder makes the plans the real-time scheduler reads.
using clock::PlannedNote;
using clock::PlanQueue;
using clock::StepPlan;

class StepDecoder {
public:
    explicit StepDecoder(int steps_per_beat);

    // Feeds one token. Each step the token stream moves past is handed to `emit`,
    // notes or empty (a rest), in order. True when the token made a note whole (an onset,
    // or the duration of a pitch).
    bool feed(const music::TokenMeaning& token, const std::function<void(const StepPlan&)>& emit);

    // The step the next token's notes would start on.
    std::int64_t current_step() const { return current_.step; }
    // Restart at `step` with nothing pending (a new phrase, a reset).
    void restart(std::int64_t step);
    // Notes already planned on the current (not yet emitted) step.
    int pending_notes() const { return current_.count; }
    // A pitch was fed and its duration has not come yet.
    bool awaiting_duration() const { return pending_pitch_ >= 0; }

private:
    int steps_per_beat_;
    int velocity_ = 88;
    int pending_pitch_ = -1;
    StepPlan current_;
};

}  // namespace kanade::engine
