// Notes as sounding events (start, end, pitch, velocity) rather than on/off messages:
// the form the tokenisers, the renderer and the notation writer work on.
#pragma once

#include "kanade/midi/smf.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace kanade::midi {

inline constexpr int drum_channel = 9;  // MIDI channel 10, counted from 0

struct Note {
    double start_beat = 0;  // quarter notes from the start of the file
    double end_beat = 0;
    double start_seconds = 0;
    double end_seconds = 0;
    std::uint8_t pitch = 60;
    std::uint8_t velocity = 100;
    std::uint8_t channel = 0;
    std::uint8_t program = 0;  // General MIDI program in effect at the note-on
};

struct NoteExtraction {
    bool include_drums = false;  // channel 10 is dropped unless asked for
};

// Pairs note-ons with their note-offs (a note-on with velocity 0 is an off; repeated
// ons of one pitch and channel are closed first-in first-out; a note never closed
// ends with its track). Sorted by start, then pitch.
std::vector<Note> extract_notes(const File& file, const NoteExtraction& options = {});

// The sustain pedal (controller 64) held from start to end, in beats.
struct SustainPedalSpan {
    double start_beat = 0;
    double end_beat = 0;
};

struct NotesToFile {
    double bpm = 120.0;
    std::uint16_t ticks_per_quarter = 480;
    std::uint8_t program = 0;  // Acoustic Grand Piano
    std::string track_name = "kanade";
    std::vector<SustainPedalSpan> sustain_pedal;  // written on channel 1 beside the notes
};

// A format 1 file: a tempo track, then one track of the notes (by their beats).
File notes_to_file(const std::vector<Note>& notes, const NotesToFile& options = {});

}  // namespace kanade::midi
