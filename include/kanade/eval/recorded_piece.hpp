// A recording kanaded made (its journal, STEM.jsonl), read back as a piece on the
// daemon's own grid: each note at the grid step it was played on, not at its time, so
// `kanade eval-generation --recording` measures what the daemon meant to play.
#pragma once

#include "kanade/midi/note.hpp"

#include <filesystem>
#include <string_view>
#include <vector>

namespace kanade::eval {

enum class RecordedPart { machine, human, all };
RecordedPart recorded_part(std::string_view name);  // "machine", "human" or "all"

struct RecordedPiece {
    int steps_per_beat = 4;  // the header's grid; 4/4 and 4 steps a beat when it has none
    int beats_per_bar = 4;
    // Beats from the start of the bar (of the daemon's grid: step 0 starts one) in which
    // the first note starts. A note never ended ends at the journal's last step.
    std::vector<midi::Note> notes;
    std::int64_t first_step = 0;  // the grid step of beat 0
    std::size_t unstepped = 0;    // note events of the part without a step, left out
};

// Throws std::runtime_error naming the file when it cannot be read, or when none of its
// events has a grid step ("no grid steps: recorded by an older kanaded").
RecordedPiece read_recorded_piece(const std::filesystem::path& journal, RecordedPart part);

}  // namespace kanade::eval
