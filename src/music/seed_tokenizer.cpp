#include "kanade/music/seed_tokenizer.hpp"

#include "kanade/music/pitch.hpp"

#include <algorithm>
#include <charconv>

namespace kanade::music {

std::string SeedTokenizer::token_for(const std::vector<int>& pitches) {
    if (pitches.size() == 1) return pitch_name(pitches.front());
    std::string token;
    for (int pitch_class : normal_order(pitches)) {
        if (!token.empty()) token += '.';
        token += std::to_string(pitch_class);
    }
    return token;
}

std::vector<int> SeedTokenizer::pitches_of(std::string_view token) {
    if (token.empty()) return {};
    if (!(token[0] >= '0' && token[0] <= '9')) {
        auto pitch = parse_pitch_name(token);
        return pitch ? std::vector<int>{*pitch} : std::vector<int>{};
    }
    std::vector<int> pitches;
    while (!token.empty()) {
        auto dot = token.find('.');
        auto part = token.substr(0, dot);
        int pitch_class = -1;
        auto [end, error] = std::from_chars(part.data(), part.data() + part.size(), pitch_class);
        if (error != std::errc{} || end != part.data() + part.size() || pitch_class < 0 || pitch_class > 11) return {};
        pitches.push_back(60 + pitch_class);  // music21 puts chord pitch classes in octave 4
        token = dot == std::string_view::npos ? std::string_view{} : token.substr(dot + 1);
    }
    return pitches;
}

std::vector<std::string> SeedTokenizer::encode(const std::vector<midi::Note>& notes) const {
    std::vector<std::string> tokens;
    for (const auto& group : group_onsets(notes, grid_)) {
        std::vector<int> pitches;
        for (const auto& note : group.notes) pitches.push_back(note.pitch);
        std::sort(pitches.begin(), pitches.end());
        pitches.erase(std::unique(pitches.begin(), pitches.end()), pitches.end());
        tokens.push_back(token_for(pitches));
    }
    return tokens;
}

std::vector<midi::Note> SeedTokenizer::decode(const std::vector<std::string>& tokens) const {
    std::vector<midi::Note> notes;
    double beat = 0;
    for (const auto& token : tokens) {
        for (int pitch : pitches_of(token)) {
            midi::Note note;
            note.start_beat = beat;
            note.end_beat = beat + 1.0;  // every note a quarter note, as the student model played
            note.pitch = static_cast<std::uint8_t>(pitch);
            note.velocity = 100;
            notes.push_back(note);
        }
        beat += 1.0;
    }
    return notes;
}

}  // namespace kanade::music
