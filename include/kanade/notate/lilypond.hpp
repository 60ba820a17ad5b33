// Sheet music for generated pieces: notes become a LilyPond piano score (treble and
// bass staff split at middle C, a 16th-note grid, one chord stream per staff), and
// notate() writes the .ly and, where `lilypond` is installed, engraves PDF and PNG.
#pragma once

#include "kanade/midi/note.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace kanade::notate {

struct LilypondOptions {
    std::string title;  // empty: no title
    std::string composer;
    int time_numerator = 4;
    int time_denominator = 4;  // 1, 2, 4, 8 or 16
    int key_fifths = 0;        // -7..7, as in a MIDI key signature; < 0 spells flats
    bool minor = false;
    std::optional<double> tempo_bpm;  // quarter notes per minute; a \tempo mark when set
    int split_pitch = 60;             // this pitch and above go to the treble staff
    int max_bars = 64;                // longer pieces are cut here, and the score says so
    int steps_per_beat = 4;           // the quantisation grid: 1, 2, 4 (16th notes) or 8
};

// The score and what was left out of it.
struct Engraving {
    std::string source;     // LilyPond input
    int bars = 0;           // bars written
    int total_bars = 0;     // bars the notes would have needed
    std::size_t notes = 0;  // notes that start inside the written bars
    bool truncated() const { return bars < total_bars; }
};

// Pure functions: no files, no programs. Throws std::invalid_argument for options it
// cannot notate (a time signature with a denominator outside 1..16, and so on).
Engraving engrave(const std::vector<midi::Note>& notes, const LilypondOptions& options = {});
std::string to_lilypond(const std::vector<midi::Note>& notes, const LilypondOptions& options = {});

// LilyPond's absolute pitch name: 60 -> "c'", 61 -> "cis'" (or "des'" with flats), 47 -> "b,".
std::string lilypond_pitch(int midi_pitch, bool flats = false);

enum class NotationStatus {
    rendered,     // the PDF (and PNG) exist
    not_asked,    // render = false: the .ly only
    unavailable,  // lilypond is not installed: the .ly only
    failed,       // lilypond ran and failed; message holds its output
};

struct NotationResult {
    std::filesystem::path ly;
    std::optional<std::filesystem::path> pdf, png;  // a longer score has one PNG per page: the first
    NotationStatus status = NotationStatus::not_asked;
    Engraving engraving;  // its source is left empty; it is in the .ly
    std::string message;  // one or more lines for the user
};

struct EngraveProgram {
    std::string lilypond = "lilypond";  // name or path
    int png_resolution = 110;
    double timeout_seconds = 600;
};

// Writes STEM.ly atomically (a trailing .ly, .pdf or .png on the stem is dropped),
// then, when `render` and lilypond is found, runs it to make STEM.pdf and STEM.png.
// Throws only when the .ly cannot be written; lilypond's problems are in the status.
NotationResult notate(const std::vector<midi::Note>& notes, const std::filesystem::path& output_stem,
                      const LilypondOptions& options = {}, bool render = true, const EngraveProgram& program = {});

}  // namespace kanade::notate
