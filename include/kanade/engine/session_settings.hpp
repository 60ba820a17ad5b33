// What a performer (or an OSC client) can change about one voice of kanade while it
// plays: its mode, sampling and constraints, and how call-and-response listens.
#pragma once

#include "kanade/clock/step_plan.hpp"
#include "kanade/engine/constraints.hpp"
#include "kanade/engine/sampler.hpp"

#include <string>

namespace kanade::engine {

enum class Mode { free, call_response, accompany };
Mode parse_mode(const std::string& text);  // throws std::invalid_argument naming the text
const char* mode_name(Mode mode);

struct SessionSettings {
    Mode mode = Mode::free;
    SamplingOptions sampling{1.0, 0, 0.95};
    Constraints constraints;
    int style = 0;                     // a style of the model (1..styles), 0: none said
    double repeat = 0.15;              // the chance a bar replays the one 2 or 4 bars back (0..1)
    int output_channel = 0;            // 0..15
    int phrase_end_silence_steps = 8;  // call-response: this much silence ends a phrase
    int phrase_end_controller = 64;    // ... or this controller (the sustain pedal) released; -1: off
    int answer_steps = 0;              // 0: as long as the call
    int lookahead_steps = 2;           // how far ahead of the clock plans are made
    bool join_player = false;          // accompany: the first step made after a player's note starts a note
    // A player's note held longer than this counts as released: a keyboard unplugged
    // mid-note must not keep call-and-response waiting for ever.
    int max_held_steps = clock::default_max_note_steps;
};

}  // namespace kanade::engine
