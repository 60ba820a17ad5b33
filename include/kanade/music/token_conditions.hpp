// What the network is told beside each token: where the token falls in the bar (its
// metrical position) and what its bar is like (note density and loudness, measured in
// the training data; set by the performer in the daemon), the style of its corpus, and
// what came next one and two bars back (music/bar_lookback.hpp).
// Every value is 0 for "not said" (a network trained with the controls dropped now and
// then plays freely on 0), otherwise 1 + the value, so one small embedding table per
// channel holds them all.
#pragma once

#include "kanade/music/meter_map.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace kanade::music {

enum class Condition : std::uint8_t {
    step_in_beat,
    beat_in_bar,
    density,
    loudness,
    style,
    lookback_bar,       // 1 + the id of the token that came next here one bar ago
    lookback_two_bars,  // ... two bars ago
};
inline constexpr std::size_t condition_count = 7;
using TokenCondition = std::array<std::uint8_t, condition_count>;

inline constexpr int max_steps_per_beat = 16;  // positions beyond are clamped
inline constexpr int max_beats_per_bar = 16;
inline constexpr int density_bins = 8;   // notes starting in a bar: 0, 1-2, 3-4, 5-8, ... 65 and more
inline constexpr int loudness_bins = 8;  // the bar's mean velocity, 16 velocities a bin
inline constexpr int max_styles = 64;

// Rows of each channel's embedding table (its values plus the 0 of "not said").
constexpr std::array<int, condition_count> condition_table_sizes(int styles, int vocab_size) {
    return {max_steps_per_beat + 1, max_beats_per_bar + 1, density_bins + 1, loudness_bins + 1, styles + 1,
            vocab_size + 1,         vocab_size + 1};
}

int density_bin(int notes_in_bar);       // 1..density_bins
int loudness_bin(double mean_velocity);  // 1..loudness_bins
double bin_notes_per_bar(int bin);       // the middle of a bin's note counts

// The position half of a condition: the token sounds at `step` of `meters`.
void set_position(TokenCondition& condition, const MeterMap& meters, long step);
// Whether the position said is a bar line (step 0 of beat 0).
bool on_bar_line(const TokenCondition& condition);

// Conditions of a tokenized piece. `steps[i]` is the grid step token i sounds at (after
// it: a wait's step is the one it moves to); `velocity_of[i]` the velocity of the note a
// pitch token starts, or -1 for every other token. Density and loudness are those of the
// token's bar; style is 0 (none) or 1 + the corpus folder's index.
std::vector<TokenCondition> piece_conditions(const std::vector<long>& steps, const std::vector<int>& velocity_of,
                                             const MeterMap& meters, int style);

// The controls of a bar played live: density from a number of notes per bar (<= 0: not
// said), loudness from a mean velocity (<= 0: not said), style 0..styles.
void set_controls(TokenCondition& condition, double notes_per_bar, double mean_velocity, int style);

// The lookback half: what came next one and two bars back (BarLookback::candidates).
void set_lookback(TokenCondition& condition, const std::array<std::uint8_t, 2>& candidates);

}  // namespace kanade::music
