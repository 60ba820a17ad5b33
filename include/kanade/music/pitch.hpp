// Pitch names as the student project's music21 pipeline spelled them ("C#4", "E-4",
// "B-3": sharps for C, F, G; flats for E and B; octave 4 starts at middle C = 60),
// and pitch-class sets in normal order, which name the seed tokenizer's chords.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kanade::music {

std::string pitch_name(int midi_pitch);                      // 61 -> "C#4"
std::optional<int> parse_pitch_name(std::string_view name);  // "C#4" -> 61, also "Db4"

// Distinct pitch classes (0..11) of `pitches` in normal order: the rotation of the
// sorted set spanning the smallest interval, ties broken by the smaller interval from
// the first to the second-last, third-last, ... (Rahn), then by the lowest first class.
std::vector<int> normal_order(const std::vector<int>& pitches);

}  // namespace kanade::music
