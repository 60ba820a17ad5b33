#include "kanade/eval/piece_features.hpp"

#include <doctest/doctest.h>

#include <functional>

using namespace kanade;
using namespace kanade::eval;

namespace {

midi::Note note(int pitch, double start, double length, int velocity = 80) {
    midi::Note n;
    n.pitch = static_cast<std::uint8_t>(pitch);
    n.start_beat = start;
    n.end_beat = start + length;
    n.velocity = static_cast<std::uint8_t>(velocity);
    return n;
}

double scalar(const PieceFeatures& features, Feature feature) {
    const auto& values = feature_of(features, feature);
    REQUIRE(values.size() == 1);
    return values.front();
}

}  // namespace

TEST_CASE("a C major scale in quarter notes measures as counted by hand") {
    std::vector<midi::Note> scale;
    const int pitches[] = {60, 62, 64, 65, 67, 69, 71, 72};
    for (int i = 0; i < 8; ++i) scale.push_back(note(pitches[i], i, 1.0, i % 2 ? 100 : 60));
    auto features = measure_piece(scale);
    CHECK(scalar(features, Feature::pitch_count) == 8);
    CHECK(scalar(features, Feature::pitch_range) == 12);
    CHECK(scalar(features, Feature::pitch_interval) == doctest::Approx(12.0 / 7));
    CHECK(scalar(features, Feature::note_count) == 8);
    CHECK(scalar(features, Feature::inter_onset_interval) == doctest::Approx(1.0));
    CHECK(scalar(features, Feature::polyphony) == doctest::Approx(1.0));
    CHECK(scalar(features, Feature::bar_repetition) == 0);
    CHECK(scalar(features, Feature::rest_share) == 0);
    CHECK(scalar(features, Feature::velocity_spread) == doctest::Approx(20.0));

    const auto& classes = feature_of(features, Feature::pitch_class_histogram);
    REQUIRE(classes.size() == 12);
    CHECK(classes[0] == doctest::Approx(2.0 / 8));  // C4 and C5
    for (int black : {1, 3, 6, 8, 10}) CHECK(classes[static_cast<std::size_t>(black)] == 0);
    CHECK(classes[7] == doctest::Approx(1.0 / 8));
    const auto& lengths = feature_of(features, Feature::note_length_histogram);
    REQUIRE(lengths.size() == 12);
    CHECK(lengths[2] == doctest::Approx(1.0));  // every note a quarter
}

TEST_CASE("a repeated chord with a bar of rest between: polyphony, repetition and rests") {
    std::vector<midi::Note> notes;
    for (double start : {0.0, 8.0})
        for (int pitch : {60, 64, 67}) notes.push_back(note(pitch, start, 4.0));
    MeasureOptions options;
    options.length_beats = 12;
    auto features = measure_piece(notes, options);
    CHECK(scalar(features, Feature::polyphony) == doctest::Approx(3.0));
    CHECK(scalar(features, Feature::bar_repetition) == doctest::Approx(0.5));  // bar 3 repeats bar 1
    CHECK(scalar(features, Feature::rest_share) == doctest::Approx(4.0 / 12));
    CHECK(scalar(features, Feature::inter_onset_interval) == doctest::Approx(8.0));
    CHECK(scalar(features, Feature::pitch_interval) == 0);                                   // the top line stays on G
    CHECK(feature_of(features, Feature::note_length_histogram)[0] == doctest::Approx(1.0));  // whole notes
    CHECK(scalar(features, Feature::velocity_spread) == 0);
}

TEST_CASE("held notes count towards the polyphony of later onsets, the top line gives the intervals") {
    std::vector<midi::Note> notes = {note(36, 0, 4.0)};
    const int melody[] = {72, 76, 74, 79};
    for (int i = 0; i < 4; ++i) notes.push_back(note(melody[i], i, 1.0));
    auto features = measure_piece(notes);
    CHECK(scalar(features, Feature::polyphony) == doctest::Approx(2.0));
    CHECK(scalar(features, Feature::pitch_interval) == doctest::Approx((4.0 + 2 + 5) / 3));
    CHECK(scalar(features, Feature::pitch_range) == 43);
}

TEST_CASE("note lengths fall into the nearest of Yang & Lerch's classes") {
    std::vector<midi::Note> notes = {note(60, 0, 0.75), note(62, 1, 1.0 / 3), note(64, 2, 0.78), note(65, 3, 1.45)};
    const auto features = measure_piece(notes);  // feature_of refers into it: it must outlive `lengths`
    const auto& lengths = feature_of(features, Feature::note_length_histogram);
    CHECK(lengths[7] == doctest::Approx(0.5));    // dotted eighths: 0.75 and 0.78
    CHECK(lengths[11] == doctest::Approx(0.25));  // eighth triplet
    CHECK(lengths[6] == doctest::Approx(0.25));   // dotted quarter: 1.45
}

TEST_CASE("an empty piece measures as zeros") {
    auto features = measure_piece({});
    for (std::size_t i = 0; i < feature_count; ++i) {
        CAPTURE(feature_name(feature_at(i)));
        for (double value : features[i]) CHECK(value == 0);
    }
    CHECK_THROWS_AS(feature_at(feature_count), std::out_of_range);
}

TEST_CASE("a piece is cut into segments that start at zero, empty and short ends are dropped") {
    std::vector<midi::Note> notes = {note(60, 0.5, 1), note(62, 3.5, 1), note(64, 9, 1), note(65, 13, 2)};
    auto segments = cut_segments(notes, 4.0);
    // Segments: [0,4) two notes, [4,8) empty (dropped), [8,12) one, [12,15) three beats kept.
    REQUIRE(segments.size() == 3);
    CHECK(segments[0].notes.size() == 2);
    CHECK(segments[1].notes.front().start_beat == doctest::Approx(1.0));
    CHECK(segments[2].notes.front().start_beat == doctest::Approx(1.0));
    CHECK(segments[2].notes.front().end_beat == doctest::Approx(3.0));
    CHECK(segments[1].start_beat == 8);
    CHECK(segments[2].start_beat == 12);
    CHECK(cut_segments({note(60, 0, 4), note(62, 4, 1)}, 4.0).size() == 1);  // 1 beat of 4: dropped
    CHECK_THROWS_AS(cut_segments(notes, 0), std::invalid_argument);
}

namespace {

// `bars` bars of 4/4 in 16ths, bar b holding the onsets `pattern(b)` as (step in the bar, pitch).
std::vector<midi::Note> bars_of(int bars, const std::function<std::vector<std::pair<int, int>>(int)>& pattern) {
    std::vector<midi::Note> notes;
    for (int bar = 0; bar < bars; ++bar)
        for (auto [step, pitch] : pattern(bar)) notes.push_back(note(pitch, bar * 4 + step / 4.0, 0.25));
    return notes;
}

MeasureOptions bars_long(int bars) {
    MeasureOptions options;
    options.length_beats = 4.0 * bars;
    return options;
}

}  // namespace

TEST_CASE("onsets all on beats: on-beat share 1, four bar positions of a quarter each, 2 bits") {
    auto features =
        measure_piece(bars_of(4,
                              [](int) {
                                  return std::vector<std::pair<int, int>>{{0, 60}, {4, 62}, {8, 64}, {12, 65}};
                              }),
                      bars_long(4));
    CHECK(scalar(features, Feature::on_beat_share) == 1);
    const auto& positions = feature_of(features, Feature::bar_position_histogram);
    REQUIRE(positions.size() == 16);
    for (std::size_t step = 0; step < 16; ++step) CHECK(positions[step] == doctest::Approx(step % 4 == 0 ? 0.25 : 0.0));
    CHECK(scalar(features, Feature::bar_position_entropy) == doctest::Approx(2.0));

    // Every onset an 8th late: none on a beat.
    auto late = measure_piece(bars_of(2,
                                      [](int) {
                                          return std::vector<std::pair<int, int>>{{2, 60}, {6, 62}};
                                      }),
                              bars_long(2));
    CHECK(scalar(late, Feature::on_beat_share) == 0);
    CHECK(scalar(late, Feature::bar_position_entropy) == doctest::Approx(1.0));
}

TEST_CASE("the bar grid follows the time signature and where a bar starts") {
    // 3/4: onsets on beats 0 and 3 are both a bar's first step.
    MeasureOptions waltz;
    waltz.beats_per_bar = 3;
    auto features = measure_piece({note(60, 0, 1), note(62, 3, 1), note(64, 4.5, 0.5)}, waltz);
    const auto& positions = feature_of(features, Feature::bar_position_histogram);
    REQUIRE(positions.size() == 12);
    CHECK(positions[0] == doctest::Approx(2.0 / 3));
    CHECK(positions[6] == doctest::Approx(1.0 / 3));
    CHECK(scalar(features, Feature::on_beat_share) == doctest::Approx(2.0 / 3));
    // A segment cut at beat 4 of a 3/4 piece starts two beats into a bar.
    std::vector<midi::Note> piece = {note(60, 0, 1), note(60, 3, 1), note(60, 6, 1), note(60, 9, 1)};
    auto segments = cut_segments(piece, 4.0);
    REQUIRE(segments.size() == 3);
    auto second = measure_piece(segments[1].notes, segment_options(waltz, segments[1], 4.0));
    CHECK(feature_of(second, Feature::bar_position_histogram)[0] == 1);  // beat 6 of the piece
}

TEST_CASE("a piece repeating one bar repeats at every lag and is self-similar throughout") {
    auto features = measure_piece(bars_of(12,
                                          [](int) {
                                              return std::vector<std::pair<int, int>>{{0, 60}, {6, 67}, {10, 64}};
                                          }),
                                  bars_long(12));
    CHECK(scalar(features, Feature::bar_repetition_lag1) == 1);
    CHECK(scalar(features, Feature::bar_repetition_lag2) == 1);
    CHECK(scalar(features, Feature::bar_repetition_lag4) == 1);
    CHECK(scalar(features, Feature::self_similarity) == 1);
    const auto& lags = feature_of(features, Feature::self_similarity_lags);
    REQUIRE(lags.size() == 8);
    for (double lag : lags) CHECK(lag == 1);
    CHECK(scalar(features, Feature::bar_repetition) == doctest::Approx(11.0 / 12));
}

TEST_CASE("two bars alternating: no repeat a bar back, repeats two and four bars back") {
    auto features = measure_piece(bars_of(8,
                                          [](int bar) {
                                              return bar % 2 ? std::vector<std::pair<int, int>>{{0, 60}, {8, 62}}
                                                             : std::vector<std::pair<int, int>>{{0, 60}, {4, 64}};
                                          }),
                                  bars_long(8));
    CHECK(scalar(features, Feature::bar_repetition_lag1) == 0);
    CHECK(scalar(features, Feature::bar_repetition_lag2) == 1);
    CHECK(scalar(features, Feature::bar_repetition_lag4) == 1);
    // Neighbours share one onset of three: Jaccard 1/3; bars an even lag apart are equal.
    const auto& lags = feature_of(features, Feature::self_similarity_lags);
    REQUIRE(lags.size() == 8);
    CHECK(lags[0] == doctest::Approx(1.0 / 3));
    CHECK(lags[1] == 1);
    CHECK(lags[2] == doctest::Approx(1.0 / 3));
    CHECK(lags[7] == 0);  // 8 bars have no pair 8 apart
    // 7 pairs at lag 1, 6 at 2, ..., 1 at 7: (7 + 5 + 3 + 1) / 3 + 6 + 4 + 2 over 28.
    CHECK(scalar(features, Feature::self_similarity) == doctest::Approx((16.0 / 3 + 12) / 28));
}

TEST_CASE("a lag counts only non-empty bars that have a bar that far back, two silent bars are no pair") {
    // Bars: A, rest, A, rest, A.
    auto features = measure_piece(
        bars_of(5,
                [](int bar) {
                    return bar % 2 ? std::vector<std::pair<int, int>>{} : std::vector<std::pair<int, int>>{{0, 60}};
                }),
        bars_long(5));
    CHECK(scalar(features, Feature::bar_repetition_lag1) == 0);  // bars 2 and 4 follow a rest
    CHECK(scalar(features, Feature::bar_repetition_lag2) == 1);  // bars 2 and 4
    CHECK(scalar(features, Feature::bar_repetition_lag4) == 1);  // bar 4
    const auto& lags = feature_of(features, Feature::self_similarity_lags);
    CHECK(lags[0] == 0);  // every neighbour pair is a bar and a rest
    CHECK(lags[1] == 1);  // (0,2), (2,4); (1,3) is silent and left out
}
