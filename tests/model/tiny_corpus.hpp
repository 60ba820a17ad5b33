// A small corpus of made-up MIDI files with clear patterns, for training tests.
#pragma once

#include "kanade/midi/note.hpp"
#include "kanade/midi/smf.hpp"

#include <filesystem>
#include <string>

namespace kanade::test {

// `files` files of rising and falling scales with chords; different per file.
inline void write_tiny_corpus(const std::filesystem::path& folder, int files = 20, int notes_per_file = 96) {
    std::filesystem::create_directories(folder);
    for (int f = 0; f < files; ++f) {
        std::vector<midi::Note> notes;
        static constexpr int scale[] = {0, 2, 4, 5, 7, 9, 11, 12, 11, 9, 7, 5, 4, 2};
        for (int i = 0; i < notes_per_file; ++i) {
            midi::Note note;
            note.start_beat = i * 0.5;
            note.end_beat = note.start_beat + (i % 4 == 3 ? 0.5 : 0.25);
            note.pitch = static_cast<std::uint8_t>(48 + f % 5 + scale[i % 14]);
            note.velocity = static_cast<std::uint8_t>(i % 8 == 0 ? 100 : 70);
            notes.push_back(note);
            if (i % 8 == 0) {
                note.pitch = static_cast<std::uint8_t>(note.pitch - 12);
                notes.push_back(note);
            }
        }
        char name[32];
        std::snprintf(name, sizeof name, "tiny-%02d.mid", f);
        midi::write_smf(midi::notes_to_file(notes), folder / name);
    }
}

}  // namespace kanade::test
