// How well a transcription found the notes of a reference, as mir_eval's
// precision_recall_f1_overlap with offset_ratio=None scores it: a reference and an
// estimated note match when they have the same pitch and their onsets lie within the
// tolerance (50 ms); each note matches at most once, and the matching is a maximum
// bipartite matching, not a greedy one.
#pragma once

#include "kanade/midi/note.hpp"

#include <cstddef>
#include <vector>

namespace kanade::transcribe {

struct NoteScores {
    double precision = 0, recall = 0, f1 = 0;
    std::size_t matched = 0, reference_notes = 0, estimated_notes = 0;
};

NoteScores match_notes(const std::vector<midi::Note>& reference, const std::vector<midi::Note>& estimated,
                       double onset_tolerance_seconds = 0.05);

}  // namespace kanade::transcribe
