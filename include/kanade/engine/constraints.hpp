// Musical constraints applied to the network's output before sampling: a pitch range,
// a key/scale, how many notes may start on one step, a density bias (more or fewer
// rests), an energy bias (louder, busier, shorter notes or the reverse) and a
// repetition guard. They shape what the model plays without retraining.
#pragma once

#include "kanade/music/token_table.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace kanade::engine {

struct Constraints {
    int lowest_pitch = 21;  // the piano's range by default
    int highest_pitch = 108;
    int scale_root = -1;               // pitch class 0..11; -1: any note
    std::uint16_t scale_mask = 0xFFF;  // bit i: pitch class (root + i) allowed
    int max_polyphony = 6;             // notes starting on one step
    double density = 1.0;              // >1: fewer rests, <1: more (kanade tokens)
    double repetition_penalty = 1.0;   // >1 discourages the notes of the last few steps
    // -1..1: tilts dynamics, rests and note lengths together (kanade tokens) or chord
    // size (seed tokens); 0 leaves the model's distribution alone.
    double energy = 0.0;

    // "C major", "a minor", "D dorian", "F# pentatonic", "chromatic". Throws
    // std::invalid_argument naming what it cannot read.
    void set_scale(const std::string& text);
    std::string scale_text() const;
};

// Where the line being sampled stands: what may come next depends on it.
struct LineState {
    int notes_on_step = 0;           // notes already planned on the current step
    bool must_start_note = false;    // an answer that has not sounded yet: nothing may move time
    bool awaiting_duration = false;  // a pitch was said: only its length may follow
};

// Knows what each token of a vocabulary means, to mask and bias logits quickly.
class TokenMask {
public:
    explicit TokenMask(music::TokenTable tokens);

    // Sets mask[i] false for tokens the constraints or the line's grammar forbid (a pitch
    // the decoder would drop for want of its length); biases logits in place.
    void apply(const Constraints& constraints, const LineState& line, std::span<const int> recent_tokens,
               std::span<float> logits, std::span<bool> mask) const;

private:
    music::TokenTable tokens_;
    std::vector<float> energy_slopes_;  // per token, -1..1: how much energy favours it
};

}  // namespace kanade::engine
