// What the music did one and two bars ago at the point it has reached now: the token that
// came next there. A network told this beside each token (the lookback channels of
// music/token_conditions.hpp) can learn when a phrase repeats and copy it, which a window
// of 64 tokens (less than a bar of the corpus) cannot see. After Magenta's Lookback RNN,
// made for event tokens: the point is the grid step and how many non-wait tokens have
// sounded on it; the candidate is the token at that index on the step one (two) bars
// back, or the wait that left that step when it had no more. Velocity tokens are left out
// of both (the network says them when it will); a candidate is never one.
//
// Training and the daemon feed the same class token by token, so the network hears in
// kanaded exactly what it was trained on.
#pragma once

#include "kanade/music/meter_map.hpp"
#include "kanade/music/token_table.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <vector>

namespace kanade::music {

inline constexpr int lookback_bars = 2;          // channels: one and two bars back
inline constexpr int max_bars_back = 4;          // the furthest a candidate is read (a bar repeat)
inline constexpr int max_lookback_tokens = 254;  // a candidate is 1 + its id in a byte; 0: none

class BarLookback {
public:
    BarLookback() = default;
    // A vocabulary without waits (the seed tokens) is never told anything.
    explicit BarLookback(const TokenTable& tokens);

    void clear();
    // The next token of the music, on the grid step it sounds at (a wait: the step it moves
    // to), in a piece of these `meters` (they bound how much history is kept).
    void feed(int id, long step, const MeterMap& meters);
    // 1 + the id of the token that followed this point `bars` bars back (1..max_bars_back), 0 when
    // those bars are not known (before the piece, or the vocabulary has no waits).
    std::uint8_t candidate(int bars, const MeterMap& meters) const;
    std::array<std::uint8_t, lookback_bars> candidates(const MeterMap& meters) const;

private:
    WaitTable waits_;                          // empty: nothing is told (no waits, or ids past a byte)
    std::vector<bool> velocity_;               // per id: a velocity token
    std::map<long, std::vector<int>> groups_;  // step -> its pitches and durations, in order
    long first_step_ = 0, step_ = 0;
    std::size_t index_ = 0;  // tokens other than waits and velocities fed on step_ so far
    bool started_ = false;
};

}  // namespace kanade::music
