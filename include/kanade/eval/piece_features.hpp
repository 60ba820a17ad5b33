// Per-piece music statistics after Yang & Lerch, "On the evaluation of generative models
// in music" (2018): what `kanade eval-generation` measures on generated and on real
// pieces, so the two sets can be compared feature by feature (see feature_overlap.hpp).
#pragma once

#include "kanade/midi/note.hpp"

#include <array>
#include <string_view>
#include <vector>

namespace kanade::eval {

enum class Feature {
    pitch_count,            // distinct MIDI pitches used
    pitch_class_histogram,  // 12 shares of the notes, C first
    pitch_range,            // highest minus lowest pitch, semitones
    pitch_interval,         // mean |interval| between the top notes of successive onsets
    note_count,
    inter_onset_interval,   // mean beats between successive onsets
    note_length_histogram,  // 12 shares, classes of note_length_classes()
    polyphony,              // mean notes sounding at each onset, held ones included
    bar_repetition,         // share of non-empty bars that repeat an earlier bar exactly
    rest_share,             // share of grid steps where nothing sounds
    velocity_spread,        // standard deviation of the velocities
    // Rhythm and form, read on the bar grid (MeasureOptions): not Yang & Lerch's.
    on_beat_share,           // share of onset steps that fall on a beat
    bar_position_histogram,  // steps_per_bar shares of the onset steps, by step within the bar
    bar_position_entropy,    // entropy of that histogram, bits
    bar_repetition_lag1,     // share of non-empty bars equal to the bar 1 bar earlier
    bar_repetition_lag2,     // ... 2 bars earlier
    bar_repetition_lag4,     // ... 4 bars earlier
    self_similarity,         // mean similarity of each bar with each of the 8 bars before it
    self_similarity_lags,    // 8 values: that mean at lags 1..8
};
inline constexpr std::size_t feature_count = 19;
// The first features are Yang & Lerch's own; mean overlaps keep being reported over them
// alone, so figures stay comparable with earlier runs.
inline constexpr std::size_t yang_lerch_feature_count = 11;
inline constexpr int self_similarity_bars = 8;

std::string_view feature_name(Feature feature);
Feature feature_at(std::size_t index);

// Yang & Lerch's note length classes, in beats: whole, half, quarter, 8th, 16th, the
// dotted half to dotted 16th, then the half, quarter and 8th triplets.
constexpr std::array<double, 12> note_length_classes() {
    return {4.0, 2.0, 1.0, 0.5, 0.25, 3.0, 1.5, 0.75, 0.375, 4.0 / 3, 2.0 / 3, 1.0 / 3};
}

struct MeasureOptions {
    int steps_per_beat = 4;  // the grid bars and rests are read on
    int beats_per_bar = 4;
    double length_beats = 0;  // the piece's length for rest_share and the bars; 0: to the last note's end
    // A beat where a bar starts (bars lie every beats_per_bar from it): a segment cut
    // from the middle of a piece in 3/4 starts inside a bar.
    double bar_start_beat = 0;
};

// One piece's features, indexed by Feature; scalars are vectors of one value. An empty
// piece has zero counts and histograms.
//
// Bars are compared by their onsets, the set of (step within the bar, pitch) of the
// notes starting in them. Two bars are equal when the sets are; their similarity is
// the sets' Jaccard index |A and B| / |A or B| (1: the same onsets, 0: none shared), and
// a pair of two empty bars is left out (silence repeating is not form). A lag's mean
// is 0 when the piece has no pair of bars that far apart.
using PieceFeatures = std::array<std::vector<double>, feature_count>;
PieceFeatures measure_piece(const std::vector<midi::Note>& notes, const MeasureOptions& options = {});
const std::vector<double>& feature_of(const PieceFeatures& features, Feature feature);

struct Segment {
    double start_beat = 0;  // where it was cut from the piece
    std::vector<midi::Note> notes;
};
// Cuts a piece into consecutive segments of `length_beats` (the notes starting in each,
// moved to start at 0); a last segment shorter than half the length is dropped, and so
// is a segment where no note starts.
std::vector<Segment> cut_segments(const std::vector<midi::Note>& notes, double length_beats);

// The options a segment is measured with: `piece`'s, its bars kept where the piece had
// them, the length the segments'.
MeasureOptions segment_options(const MeasureOptions& piece, const Segment& segment, double length_beats);

}  // namespace kanade::eval
