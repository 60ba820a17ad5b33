#include "kanade/transcribe/note_matching.hpp"

#include <algorithm>
#include <cmath>

namespace kanade::transcribe {
namespace {

// Kuhn's augmenting paths: tries to give reference note `r` a partner, moving earlier
// matches along when that frees one.
bool augment(std::size_t r, const std::vector<std::vector<std::size_t>>& candidates, std::vector<char>& visited,
             std::vector<std::ptrdiff_t>& partner_of_estimate) {
    for (std::size_t e : candidates[r]) {
        if (visited[e]) continue;
        visited[e] = 1;
        if (partner_of_estimate[e] < 0 ||
            augment(static_cast<std::size_t>(partner_of_estimate[e]), candidates, visited, partner_of_estimate)) {
            partner_of_estimate[e] = static_cast<std::ptrdiff_t>(r);
            return true;
        }
    }
    return false;
}

}  // namespace

NoteScores match_notes(const std::vector<midi::Note>& reference, const std::vector<midi::Note>& estimated,
                       double onset_tolerance_seconds) {
    NoteScores scores;
    scores.reference_notes = reference.size();
    scores.estimated_notes = estimated.size();
    // Candidate pairs, found through the estimates sorted by onset (the 1e-9 keeps a
    // difference of exactly the tolerance inside, as mir_eval's rounding does).
    std::vector<std::size_t> by_onset(estimated.size());
    for (std::size_t i = 0; i < by_onset.size(); ++i) by_onset[i] = i;
    std::sort(by_onset.begin(), by_onset.end(),
              [&](std::size_t a, std::size_t b) { return estimated[a].start_seconds < estimated[b].start_seconds; });
    std::vector<std::vector<std::size_t>> candidates(reference.size());
    for (std::size_t r = 0; r < reference.size(); ++r) {
        const double onset = reference[r].start_seconds;
        auto first = std::lower_bound(by_onset.begin(), by_onset.end(), onset - onset_tolerance_seconds - 1e-9,
                                      [&](std::size_t e, double t) { return estimated[e].start_seconds < t; });
        for (auto it = first; it != by_onset.end(); ++it) {
            const auto& note = estimated[*it];
            if (note.start_seconds > onset + onset_tolerance_seconds + 1e-9) break;
            if (note.pitch == reference[r].pitch) candidates[r].push_back(*it);
        }
    }
    std::vector<std::ptrdiff_t> partner_of_estimate(estimated.size(), -1);
    for (std::size_t r = 0; r < reference.size(); ++r) {
        std::vector<char> visited(estimated.size(), 0);
        if (augment(r, candidates, visited, partner_of_estimate)) ++scores.matched;
    }
    const auto matched = static_cast<double>(scores.matched);
    scores.precision = estimated.empty() ? 0 : matched / static_cast<double>(estimated.size());
    scores.recall = reference.empty() ? 0 : matched / static_cast<double>(reference.size());
    scores.f1 = scores.precision + scores.recall > 0
                    ? 2 * scores.precision * scores.recall / (scores.precision + scores.recall)
                    : 0;
    return scores;
}

}  // namespace kanade::transcribe
