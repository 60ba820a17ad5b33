// The student project's tokens, exactly: a single note is its pitch name with octave
// ("E4"), a chord is its pitch classes in normal order joined by "." ("4.7.11", octave
// lost). One token per onset; no rests, no durations, no velocity. Decoding makes
// every token a quarter note, as the student project's generator did, with chords
// placed in octave 4 (music21's default octave).
#pragma once

#include "kanade/music/tokenizer.hpp"

namespace kanade::music {

class SeedTokenizer final : public Tokenizer {
public:
    explicit SeedTokenizer(GridOptions grid = {}) : Tokenizer(grid) {}
    std::string_view name() const override { return "seed"; }
    std::vector<std::string> encode(const std::vector<midi::Note>& notes) const override;
    std::vector<midi::Note> decode(const std::vector<std::string>& tokens) const override;
    std::size_t count_note_events(const std::vector<std::string>& tokens) const override { return tokens.size(); }

    static std::string token_for(const std::vector<int>& pitches);  // one onset's pitches
    static std::vector<int> pitches_of(std::string_view token);     // empty if malformed
};

}  // namespace kanade::music
