#include "kanade/eval/feature_overlap.hpp"
#include "kanade/eval/feature_plot.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <random>

using namespace kanade;
using namespace kanade::eval;

namespace {

// A piece whose only meaningful feature here is the note count.
PieceFeatures with_note_count(double count) {
    PieceFeatures features = measure_piece({});
    features[static_cast<std::size_t>(Feature::note_count)] = {count};
    return features;
}

std::vector<double> normal_samples(double mean, int count, unsigned seed) {
    std::mt19937 random(seed);
    std::normal_distribution<double> normal(mean, 1.0);
    std::vector<double> samples;
    for (int i = 0; i < count; ++i) samples.push_back(normal(random));
    return samples;
}

std::vector<midi::Note> melody(int first_pitch, int notes, double length) {
    std::vector<midi::Note> out;
    for (int i = 0; i < notes; ++i) {
        midi::Note n;
        n.pitch = static_cast<std::uint8_t>(first_pitch + (i * 5) % 12);
        n.start_beat = i * length;
        n.end_beat = n.start_beat + length;
        n.velocity = static_cast<std::uint8_t>(60 + (i * 13) % 50);
        out.push_back(n);
    }
    return out;
}

}  // namespace

TEST_CASE("intra-set distances pair each piece once, inter-set distances pair across") {
    std::vector<PieceFeatures> a = {with_note_count(1), with_note_count(4), with_note_count(6)};
    std::vector<PieceFeatures> b = {with_note_count(10), with_note_count(0)};
    auto intra = intra_set_distances(a, Feature::note_count);
    CHECK(intra == std::vector<double>{3, 5, 2});
    auto inter = inter_set_distances(a, b, Feature::note_count);
    CHECK(inter == std::vector<double>{9, 1, 6, 4, 4, 6});
    // Histograms are compared as vectors: two opposite one-hot histograms lie sqrt(2) apart.
    auto x = measure_piece(melody(60, 1, 1)), y = measure_piece(melody(61, 1, 1));
    CHECK(inter_set_distances({x}, {y}, Feature::pitch_class_histogram).front() == doctest::Approx(std::sqrt(2.0)));
}

TEST_CASE("a kernel density estimate integrates to 1 with Scott's bandwidth") {
    GaussianKde kde(normal_samples(0, 400, 3));
    CHECK(kde.bandwidth() == doctest::Approx(std::pow(400.0, -0.2)).epsilon(0.15));
    double area = 0;
    for (double x = -10; x < 10; x += 0.01) area += kde.density(x) * 0.01;
    CHECK(area == doctest::Approx(1.0).epsilon(1e-3));
    CHECK_THROWS_AS(GaussianKde({}), std::invalid_argument);
}

TEST_CASE("the overlapping area is 1 for one sample, near 0 for far apart ones, and as theory says between") {
    auto a = normal_samples(0, 2000, 1);
    CHECK(overlap_area(a, a) == doctest::Approx(1.0).epsilon(0.01));
    CHECK(overlap_area(a, normal_samples(20, 2000, 2)) < 0.01);
    // Two unit normals one apart overlap by 2 * Phi(-1/2) = 0.617.
    const double expected = std::erfc(0.5 / std::sqrt(2.0));
    CHECK(overlap_area(a, normal_samples(1, 2000, 2)) == doctest::Approx(expected).epsilon(0.06));
    CHECK(overlap_area({3, 3, 3}, {3, 3}) == 1.0);  // two spikes at one value
    CHECK(overlap_area({0, 0, 0}, {5, 5, 5}) < 0.01);
    CHECK(std::isnan(overlap_area({}, {1.0})));
}

TEST_CASE("comparing sets: a set like the real one overlaps it, one of many more notes does not") {
    std::vector<PieceFeatures> real, alike, crowded;
    for (int i = 0; i < 12; ++i) {
        real.push_back(measure_piece(melody(48 + i, 16 + i % 5, i % 2 ? 0.5 : 1.0)));
        alike.push_back(measure_piece(melody(49 + i, 16 + (i + 2) % 5, i % 2 ? 1.0 : 0.5)));
        crowded.push_back(measure_piece(melody(60, 64, 0.25)));
    }
    auto similar = compare_sets(real, alike);
    auto different = compare_sets(real, crowded);
    REQUIRE(similar.size() == feature_count);
    for (std::size_t i = 0; i < feature_count; ++i) {
        CAPTURE(feature_name(similar[i].feature));
        CHECK(similar[i].overlap() > 0.5);
        CHECK(similar[i].intra_real.size() == 66);
        CHECK(similar[i].inter.size() == 144);
    }
    const auto note_count = static_cast<std::size_t>(Feature::note_count);
    CHECK(different[note_count].overlap_real < 0.05);
    CHECK(different[note_count].overlap_generated < 0.05);
    CHECK(different[note_count].overlap() ==
          doctest::Approx((different[note_count].overlap_real + different[note_count].overlap_generated) / 2));
    CHECK(different[note_count].generated_mean.front() == 64);
    CHECK_THROWS_AS(compare_sets(real, {alike.front()}), std::invalid_argument);
}

TEST_CASE("a collapsed set, every piece alike, shows in the generated set's overlap") {
    std::vector<PieceFeatures> real, collapsed;
    for (int i = 0; i < 20; ++i) {
        real.push_back(with_note_count(10 + i));
        collapsed.push_back(with_note_count(20));
    }
    auto comparison = compare_sets(real, collapsed)[static_cast<std::size_t>(Feature::note_count)];
    CHECK(comparison.overlap_real > 0.5);  // from the real pieces it looks typical
    CHECK(comparison.overlap_generated < 0.2);
    CHECK(comparison.overlap() < comparison.overlap_real);
}

TEST_CASE("the feature picture has a panel per feature, three curves each, and escapes its title") {
    std::vector<PieceFeatures> real, generated;
    for (int i = 0; i < 6; ++i) {
        real.push_back(measure_piece(melody(50 + i, 10 + i, 1.0)));
        generated.push_back(measure_piece(melody(52 + i, 12 + i % 3, 0.5)));
    }
    auto svg = feature_plot_svg(compare_sets(real, generated), "a <b> & c");
    CHECK(svg.rfind("<svg", 0) == 0);
    CHECK(svg.find("</svg>") != std::string::npos);
    CHECK(svg.find("a &lt;b&gt; &amp; c") != std::string::npos);
    for (std::size_t i = 0; i < feature_count; ++i)
        CHECK(svg.find(std::string(feature_name(feature_at(i))) + "  (overlap") != std::string::npos);
    std::size_t curves = 0;
    for (auto at = svg.find("<polyline"); at != std::string::npos; at = svg.find("<polyline", at + 1)) ++curves;
    // Three density curves a panel (none where every distance is 0), and the two lag curves.
    CHECK(curves <= 3 * feature_count + 2);
    CHECK(curves >= 2 * feature_count);
    CHECK(svg.find("onsets by step of the bar (shared") != std::string::npos);
    CHECK(svg.find("bar self-similarity by lag") != std::string::npos);
    std::size_t bars = 0;
    for (auto at = svg.find("<rect x="); at != std::string::npos; at = svg.find("<rect x=", at + 1)) ++bars;
    CHECK(bars == 2 * 16);  // a bar per set for each step of a 4/4 bar
}

TEST_CASE("histogram intersection: 1 for a set's mean with itself, 0 for disjoint sets") {
    std::vector<double> on_beats = {0.5, 0, 0, 0, 0.5, 0, 0, 0}, off_beats = {0, 0.5, 0, 0.25, 0, 0.25, 0, 0};
    CHECK(histogram_intersection(on_beats, on_beats) == doctest::Approx(1.0));
    CHECK(histogram_intersection(on_beats, off_beats) == 0);
    CHECK(histogram_intersection(on_beats, {0.5, 0.5}) == doctest::Approx(0.5));  // a shorter bar's histogram

    // Through the comparison of two sets: the mean bar-position histograms.
    auto on = [](int pitch) {
        std::vector<midi::Note> notes;
        for (int beat = 0; beat < 8; ++beat)
            notes.push_back(
                midi::Note{static_cast<double>(beat), beat + 0.5, 0, 0, static_cast<std::uint8_t>(pitch + beat)});
        return notes;
    };
    std::vector<PieceFeatures> beats, offbeats;
    for (int i = 0; i < 3; ++i) {
        beats.push_back(measure_piece(on(60 + i)));
        auto shifted = on(60 + i);
        for (auto& note : shifted) note.start_beat += 0.5, note.end_beat += 0.5;
        offbeats.push_back(measure_piece(shifted));
    }
    auto same = compare_sets(beats, beats);
    auto apart = compare_sets(beats, offbeats);
    const auto histogram = static_cast<std::size_t>(Feature::bar_position_histogram);
    CHECK(histogram_intersection(same[histogram].real_mean, same[histogram].generated_mean) == doctest::Approx(1.0));
    CHECK(histogram_intersection(apart[histogram].real_mean, apart[histogram].generated_mean) == 0);
    CHECK(apart[static_cast<std::size_t>(Feature::on_beat_share)].generated_mean.front() == 0);
}

TEST_CASE("mean overlap over a range of features") {
    std::vector<FeatureComparison> comparisons(3);
    for (std::size_t i = 0; i < 3; ++i) {
        comparisons[i].feature = feature_at(i);
        comparisons[i].overlap_real = comparisons[i].overlap_generated = 0.25 * static_cast<double>(i + 1);
    }
    CHECK(mean_overlap(comparisons, 0, 2) == doctest::Approx(0.375));
    CHECK(mean_overlap(comparisons, 2, feature_count) == doctest::Approx(0.75));
    CHECK(std::isnan(mean_overlap(comparisons, 5, 9)));
}
