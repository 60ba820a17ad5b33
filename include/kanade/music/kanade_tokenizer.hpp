// kanade's own tokens: keep what the seed tokens throw away (octave, timing, duration,
// dynamics) with a small fixed vocabulary, so any input, a player's notes included,
// always has tokens. Time runs on a grid of steps (sixteenths by default):
//
//   V1..V8   dynamics: the velocity bin of the notes that follow (only when it changes)
//   P21..P108 a note starts now, at this pitch (octave kept; out-of-range notes are
//            moved by octaves into the piano range)
//   D<n>     the duration in steps of the note just started, n in duration_steps()
//   W1..W16  time moves on n steps to the next onset; longer rests chain W16s
//
// A bar of four quarter notes C4 E4 G4 C5, mezzo-forte:
//   V6 P60 D4 W4 P64 D4 W4 P67 D4 W4 P72 D4
// Notes starting together are written highest first, so the melody leads its chord.
#pragma once

#include "kanade/music/tokenizer.hpp"

#include <array>

namespace kanade::music {

class KanadeTokenizer final : public Tokenizer {
public:
    static constexpr int lowest_pitch = 21;    // A0
    static constexpr int highest_pitch = 108;  // C8
    static constexpr int velocity_bins = 8;
    static constexpr int max_wait_steps = 16;
    static constexpr std::array<int, 12> duration_steps() { return {1, 2, 3, 4, 6, 8, 12, 16, 20, 24, 32, 48}; }

    explicit KanadeTokenizer(GridOptions grid = {}) : Tokenizer(grid) {}
    std::string_view name() const override { return "kanade"; }
    std::vector<std::string> encode(const std::vector<midi::Note>& notes) const override;
    TimedTokens encode_timed(const std::vector<midi::Note>& notes) const override;
    std::vector<midi::Note> decode(const std::vector<std::string>& tokens) const override;
    std::optional<Vocabulary> fixed_vocabulary() const override;
    std::size_t count_note_events(const std::vector<std::string>& tokens) const override;

    static int velocity_bin(int velocity);    // 1..8
    static int bin_velocity(int bin);         // the velocity a bin plays at
    static int nearest_duration(long steps);  // snapped to duration_steps()
    // A rest of `steps` as the waits that say it, longest first ("W16", "W16", "W3" for 35).
    static std::vector<std::string> wait_tokens(long steps);
    // The number of a token with this prefix ("W4" with 'W' -> 4), if it is one.
    static std::optional<int> token_number(std::string_view token, char prefix);
};

// Decodes kanade tokens one at a time, as the daemon receives them from the model.
class KanadeTokenReader {
public:
    explicit KanadeTokenReader(GridOptions grid = {}) : grid_(grid) {}
    // Returns the note a D token completes (start and duration known), if any.
    std::optional<midi::Note> feed(std::string_view token);
    long current_step() const { return step_; }

private:
    GridOptions grid_;
    long step_ = 0;
    int velocity_ = 80;
    int pending_pitch_ = -1;  // a P token waiting for its D
};

}  // namespace kanade::music
