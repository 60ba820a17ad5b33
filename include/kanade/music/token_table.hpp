// What each token id of a model's vocabulary means, read once from its text by the rules
// of the tokenizer that made it: the step decoder, the output masks, the evaluator and the
// daemon read this table, never the token text.
//
//   kanade tokens  P60 (a note's pitch; its duration follows), D4 (that note's length in
//                  steps), V5 (the velocity bin of the notes that follow), W2 (time moves
//                  on two steps)
//   seed tokens    E4, 4.7.11 (an onset: the note or chord starts, a quarter note long,
//                  and a quarter note passes; a chord carries pitch classes only)
#pragma once

#include "kanade/music/vocabulary.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kanade::music {

enum class TokenKind : std::uint8_t { pitch, onset, duration, velocity, wait, other };
std::string_view token_kind_name(TokenKind kind);  // "pitch", "onset", ...

struct TokenMeaning {
    TokenKind kind = TokenKind::other;
    std::vector<int> pitches;         // pitch: one; onset: the note's or the chord's
    bool pitch_classes_only = false;  // an onset whose octave is not known (a seed chord)
    int steps = 0;                    // duration, wait: grid steps
    int velocity_bin = 0;             // velocity: 1..KanadeTokenizer::velocity_bins
    int velocity = 0;                 // velocity: the MIDI velocity the bin plays at

    // Whether the token starts a note (a call-and-response answer must begin with one).
    bool starts_note() const { return kind == TokenKind::pitch || kind == TokenKind::onset; }
    // Grid steps time moves on when the token is played: a wait's (at most the longest
    // wait), a seed onset's beat, nothing for the rest.
    int steps_moved(int steps_per_beat) const;
};

// How time is written in a vocabulary's waits: the steps each wait moves, and the waits a
// rest is written in (longest first, as the tokenizer writes it). Empty without waits.
class WaitTable {
public:
    WaitTable() = default;
    explicit WaitTable(const std::vector<TokenMeaning>& meanings);

    bool empty() const { return id_of_steps_.empty(); }
    // The steps the token moves time on, 0 for a token that is not a wait.
    int steps_of(int id) const {
        return id >= 0 && static_cast<std::size_t>(id) < steps_of_id_.size()
                   ? steps_of_id_[static_cast<std::size_t>(id)]
                   : 0;
    }
    // The id of the wait of exactly `steps` steps, -1 when the vocabulary has none.
    int id_of(long steps) const {
        return steps > 0 && static_cast<std::size_t>(steps) < id_of_steps_.size()
                   ? id_of_steps_[static_cast<std::size_t>(steps)]
                   : -1;
    }
    // The id of the longest wait of at most `steps` steps, -1 when there is none.
    int longest_id(long steps) const;
    // The waits a rest of `steps` steps is written in, longest first (empty: none fit).
    std::vector<int> rest(long steps) const;

private:
    std::vector<int> steps_of_id_;  // per id: the steps a wait moves, 0 for other tokens
    std::vector<int> id_of_steps_;  // per step count 1..max: the id of that wait, -1 if none
};

class TokenTable {
public:
    TokenTable() = default;
    // `tokenizer`: "kanade" or "seed", as the model file names it.
    TokenTable(const Vocabulary& vocabulary, std::string_view tokenizer);

    const TokenMeaning& operator[](int id) const { return meanings_.at(static_cast<std::size_t>(id)); }
    std::size_t size() const { return meanings_.size(); }
    const WaitTable& waits() const { return waits_; }

    // One token's meaning from its text alone.
    static TokenMeaning meaning_of(std::string_view token, std::string_view tokenizer);

private:
    std::vector<TokenMeaning> meanings_;
    WaitTable waits_;
};

// The step time stands on after each token of `ids` (the first token's start is step 0):
// what kanaded's decoder reaches, for the faithful window and the bar lookback.
std::vector<std::int64_t> token_steps(const std::vector<int>& ids, const TokenTable& tokens, int steps_per_beat);

}  // namespace kanade::music
