// The piano CRNN's regression post-processing on small hand-made activations; every
// expected value is worked out by hand from the reference's formulas in the comments.
#include <doctest/doctest.h>

#include "kanade/transcribe/piano_crnn_decoding.hpp"

#include <cmath>
#include <initializer_list>
#include <stdexcept>

using namespace kanade::transcribe;

namespace {

constexpr int pitches = 88;

// Dyadic values, so each shift below is exact in float32.
// Onset peak (two frames each side): x[n-1] = 0.5 < x[n+1] = 0.625, so
// shift = (x[n+1] - x[n-1]) / (x[n] - x[n-1]) / 2 = 0.125 / 0.25 / 2 = +0.25.
constexpr std::initializer_list<float> onset_late = {0.125f, 0.5f, 0.75f, 0.625f, 0.25f};
// Mirrored: x[n-1] = 0.625 > x[n+1] = 0.5, so
// shift = (x[n+1] - x[n-1]) / (x[n] - x[n+1]) / 2 = -0.125 / 0.25 / 2 = -0.25.
constexpr std::initializer_list<float> onset_early = {0.25f, 0.625f, 0.75f, 0.5f, 0.125f};
// Offset peak (four frames each side): x[n-1] = 0.5 < x[n+1] = 0.625, shift +0.25 as above.
constexpr std::initializer_list<float> offset_late = {0.125f, 0.25f, 0.375f, 0.5f, 0.75f, 0.625f, 0.25f, 0.125f, 0.0f};

PianoCrnnOutputs silence(int frames, bool pedal = false) {
    PianoCrnnOutputs out;
    out.frames = frames;
    const auto n = static_cast<std::size_t>(frames) * pitches;
    out.reg_onset.assign(n, 0.0f);
    out.reg_offset.assign(n, 0.0f);
    out.frame.assign(n, 0.0f);
    out.velocity.assign(n, 0.0f);
    if (pedal) {
        out.pedal_onset.assign(frames, 0.0f);
        out.pedal_offset.assign(frames, 0.0f);
        out.pedal_frame.assign(frames, 0.0f);
    }
    return out;
}

float& cell(std::vector<float>& m, int frame, int pitch) {
    return m[static_cast<std::size_t>(frame) * pitches + pitch - 21];
}

// A peak shape centred on `centre`, in a note matrix (pitch) or a pedal vector (pitch 0).
void put_peak(std::vector<float>& m, int centre, std::initializer_list<float> shape, int pitch = 0) {
    int frame = centre - static_cast<int>(shape.size()) / 2;
    for (const float v : shape) {
        if (pitch == 0)
            m[frame] = v;
        else
            cell(m, frame, pitch) = v;
        ++frame;
    }
}

void hold(std::vector<float>& m, int from, int to, float value, int pitch = 0) {
    for (int f = from; f < to; ++f) {
        if (pitch == 0)
            m[f] = value;
        else
            cell(m, f, pitch) = value;
    }
}

bool is_float32(double v) { return static_cast<double>(static_cast<float>(v)) == v; }

}  // namespace

TEST_CASE("piano crnn decoding: regression binarisation as the reference's example") {
    // The reference's own example: [0, 0, 0.15, 0.30, 0.40, 0.35, 0.20, 0.05, 0, 0] has its
    // peak at frame 4; x[3] = 0.30 < x[5] = 0.35: shift = (0.35 - 0.30) / (0.40 - 0.30) / 2 = 0.25.
    const std::vector<float> x = {0, 0, 0.15f, 0.30f, 0.40f, 0.35f, 0.20f, 0.05f, 0, 0};
    for (const int neighbour : {2, 4}) {
        INFO("neighbour " << neighbour);
        const auto peaks = binarize_regression(x, 10, 1, 0.3, neighbour);
        CHECK(peaks.peak == std::vector<std::uint8_t>{0, 0, 0, 0, 1, 0, 0, 0, 0, 0});
        CHECK(peaks.shift[4] == doctest::Approx(0.25).epsilon(1e-5));
        CHECK(peaks.shift[5] == 0.0f);
    }
    // Above the threshold only: 0.40 is not above 0.45.
    CHECK(binarize_regression(x, 10, 1, 0.45, 2).peak == std::vector<std::uint8_t>(10, 0));

    // A flat top is a peak at each of its frames (the neighbours only must not rise);
    // the middle one gets 0/0 = NaN, as in the reference.
    const std::vector<float> flat = {0, 0, 0.5f, 0.5f, 0.5f, 0, 0};
    const auto peaks = binarize_regression(flat, 7, 1, 0.3, 2);
    CHECK(peaks.peak == std::vector<std::uint8_t>{0, 0, 1, 1, 1, 0, 0});
    CHECK(peaks.shift[2] == 0.5f);  // (0.5 - 0) / (0.5 - 0) / 2
    CHECK(std::isnan(peaks.shift[3]));
    CHECK(peaks.shift[4] == -0.5f);  // x[3] > x[5]: (0 - 0.5) / (0.5 - 0) / 2

    CHECK_THROWS_AS(binarize_regression(x, 5, 1, 0.3, 2), std::invalid_argument);
}

TEST_CASE("piano crnn decoding: a single note with its sub-frame onset and offset") {
    auto out = silence(100);
    put_peak(out.reg_onset, 10, onset_late, 60);
    hold(out.frame, 10, 50, 0.5f, 60);
    put_peak(out.reg_offset, 47, offset_late, 60);
    hold(out.velocity, 0, 100, 0.9f, 60);
    cell(out.velocity, 10, 60) = 0.6f;  // only the onset frame's velocity counts

    const auto decoded = decode_piano_crnn(out);
    REQUIRE(decoded.notes.size() == 1);
    const auto& note = decoded.notes[0];
    CHECK(note.pitch == 60);
    // Onset peak at frame 10, shift +0.25: (10 + 0.25) / 100 = 0.1025 s, stored as float32.
    CHECK(note.onset_seconds == doctest::Approx(0.1025).epsilon(1e-7));
    CHECK(is_float32(note.onset_seconds));
    // Offset peak at 47 (shift +0.25), frame drop at 50: 47 - 10 = 37 > 50 - 47 = 3, so the
    // note ends at the offset peak: (47 + 0.25) / 100 = 0.4725 s.
    CHECK(note.offset_seconds == doctest::Approx(0.4725).epsilon(1e-7));
    CHECK(is_float32(note.offset_seconds));
    // int(0.6f * 128) = int(76.80000305) = 76: truncated, not rounded.
    CHECK(note.velocity == 76);
    CHECK(decoded.pedals.empty());
}

TEST_CASE("piano crnn decoding: a note ended by its frame activation") {
    auto out = silence(100);
    put_peak(out.reg_onset, 10, onset_late, 21);  // the lowest key, class 0
    hold(out.frame, 10, 31, 0.5f, 21);
    cell(out.frame, 31, 21) = 0.05f;  // <= 0.1: the frame disappears at 31
    hold(out.frame, 32, 100, 0.5f, 21);
    cell(out.velocity, 10, 21) = 0.5f;

    SUBCASE("no offset peak") {}
    SUBCASE("an offset peak nearer the onset than the frame drop") {
        // Offset at 14: 14 - 10 = 4 > 31 - 14 = 17 is false, so the frame drop wins.
        put_peak(out.reg_offset, 14, offset_late, 21);
    }
    const auto decoded = decode_piano_crnn(out);
    REQUIRE(decoded.notes.size() == 1);
    CHECK(decoded.notes[0].pitch == 21);
    CHECK(decoded.notes[0].onset_seconds == doctest::Approx(0.1025).epsilon(1e-7));
    // Ends at the frame drop, frame 31, with the offset shift there (none): 0.31 s. The
    // activation coming back at 32 starts nothing without an onset.
    CHECK(decoded.notes[0].offset_seconds == doctest::Approx(0.31).epsilon(1e-7));
    CHECK(decoded.notes[0].velocity == 64);  // int(0.5 * 128)
}

TEST_CASE("piano crnn decoding: a held note is cut at 600 frames, or at the last frame") {
    SUBCASE("600 frames") {
        auto out = silence(800);
        put_peak(out.reg_onset, 10, onset_late, 60);
        hold(out.frame, 10, 800, 0.5f, 60);
        const auto decoded = decode_piano_crnn(out);
        // i - bgn >= 600 first at frame 610: (610 + 0) / 100 = 6.1 s; the rest of the
        // held activation starts no second note.
        REQUIRE(decoded.notes.size() == 1);
        CHECK(decoded.notes[0].onset_seconds == doctest::Approx(0.1025).epsilon(1e-7));
        CHECK(decoded.notes[0].offset_seconds == doctest::Approx(6.1).epsilon(1e-7));
    }
    SUBCASE("still on at the end") {
        auto out = silence(100);
        put_peak(out.reg_onset, 10, onset_late, 60);
        hold(out.frame, 10, 100, 0.5f, 60);
        const auto decoded = decode_piano_crnn(out);
        // Ends on the last frame, 99, whose offset shift is always 0: 0.99 s.
        REQUIRE(decoded.notes.size() == 1);
        CHECK(decoded.notes[0].offset_seconds == doctest::Approx(0.99).epsilon(1e-7));
    }
}

TEST_CASE("piano crnn decoding: two consecutive onsets of one pitch") {
    auto out = silence(100);
    put_peak(out.reg_onset, 10, onset_late, 64);
    put_peak(out.reg_onset, 30, onset_early, 64);
    hold(out.frame, 8, 60, 0.5f, 64);  // no drop between the two onsets
    cell(out.velocity, 10, 64) = 0.5f;
    cell(out.velocity, 30, 64) = 0.25f;

    const auto decoded = decode_piano_crnn(out);
    REQUIRE(decoded.notes.size() == 2);
    // The first ends on the frame before the second onset, unshifted: (30 - 1) / 100.
    CHECK(decoded.notes[0].onset_seconds == doctest::Approx(0.1025).epsilon(1e-7));
    CHECK(decoded.notes[0].offset_seconds == doctest::Approx(0.29).epsilon(1e-7));
    CHECK(decoded.notes[0].velocity == 64);  // 0.5 * 128
    // The second: shift -0.25, (30 - 0.25) / 100 = 0.2975; ends at the frame drop, 0.60.
    CHECK(decoded.notes[1].onset_seconds == doctest::Approx(0.2975).epsilon(1e-7));
    CHECK(decoded.notes[1].offset_seconds == doctest::Approx(0.60).epsilon(1e-7));
    CHECK(decoded.notes[1].velocity == 32);  // 0.25 * 128
    CHECK(decoded.notes[1].pitch == 64);
}

TEST_CASE("piano crnn decoding: peaks that give no note") {
    auto out = silence(100);
    hold(out.frame, 0, 100, 0.5f, 60);
    PianoCrnnDecodingOptions options;
    SUBCASE("below the onset threshold") {
        put_peak(out.reg_onset, 10, {0.05f, 0.2f, 0.25f, 0.2f, 0.05f}, 60);  // 0.25 <= 0.3
    }
    SUBCASE("below a raised onset threshold") {
        put_peak(out.reg_onset, 10, onset_late, 60);
        options.onset_threshold = 0.8;  // the peak is 0.75
    }
    SUBCASE("too near the start for two falling frames on each side") {
        put_peak(out.reg_onset, 1, {0.5f, 0.9f, 0.5f}, 60);
    }
    SUBCASE("too near the end") { put_peak(out.reg_onset, 98, {0.5f, 0.9f, 0.5f}, 60); }
    CHECK(decode_piano_crnn(out, options).notes.empty());
}

TEST_CASE("piano crnn decoding: notes come by pitch, then onset, velocity 1.0 gives 128") {
    auto out = silence(100);
    put_peak(out.reg_onset, 10, onset_late, 108);
    hold(out.frame, 10, 20, 0.5f, 108);
    cell(out.velocity, 10, 108) = 1.0f;
    put_peak(out.reg_onset, 50, onset_late, 21);
    hold(out.frame, 50, 60, 0.5f, 21);
    cell(out.velocity, 50, 21) = 0.99f;

    const auto decoded = decode_piano_crnn(out);
    REQUIRE(decoded.notes.size() == 2);
    CHECK(decoded.notes[0].pitch == 21);
    CHECK(decoded.notes[0].velocity == 126);  // int(0.99f * 128) = int(126.72)
    CHECK(decoded.notes[1].pitch == 108);
    CHECK(decoded.notes[1].velocity == 128);  // the reference's int(1.0 * 128)
}

TEST_CASE("piano crnn decoding: sustain pedal on and off") {
    auto out = silence(200, true);
    hold(out.pedal_frame, 20, 80, 0.8f);          // down at 20 (rises through 0.5)
    put_peak(out.pedal_offset, 75, offset_late);  // offset at 75, shift +0.25
    hold(out.pedal_frame, 120, 150, 0.9f);        // down at 120, frame drop at 150
    hold(out.pedal_frame, 190, 200, 0.7f);        // down at 190, still down at the end
    put_peak(out.pedal_onset, 100, onset_late);   // the onset regression is not used

    double second_release = 0;
    SUBCASE("released by the frame drop") {
        // No offset peak in the 10 frames after the drop: up at the drop, 150 / 100.
        second_release = 1.50;
    }
    SUBCASE("released by an offset peak just after the drop") {
        put_peak(out.pedal_offset, 155, offset_late);
        second_release = 1.5525;  // (155 + 0.25) / 100
    }
    const auto decoded = decode_piano_crnn(out);
    REQUIRE(decoded.pedals.size() == 2);  // the pedal still down at the end is dropped
    // Onsets have no shift: 20 / 100; up at the offset peak while the frame is still on:
    // (75 + 0.25) / 100 = 0.7525.
    CHECK(decoded.pedals[0].onset_seconds == doctest::Approx(0.20).epsilon(1e-7));
    CHECK(decoded.pedals[0].offset_seconds == doctest::Approx(0.7525).epsilon(1e-7));
    CHECK(decoded.pedals[1].onset_seconds == doctest::Approx(1.20).epsilon(1e-7));
    CHECK(decoded.pedals[1].offset_seconds == doctest::Approx(second_release).epsilon(1e-7));
    CHECK(decoded.notes.empty());

    // The note model alone: no pedal events.
    CHECK(decode_piano_crnn(silence(200)).pedals.empty());
}

TEST_CASE("piano crnn decoding: sizes that do not match the frame count throw") {
    auto out = silence(10, true);
    CHECK_NOTHROW(decode_piano_crnn(out));
    SUBCASE("a note output") {
        out.reg_onset.pop_back();
        CHECK_THROWS_WITH_AS(decode_piano_crnn(out), doctest::Contains("reg_onset"), std::invalid_argument);
    }
    SUBCASE("velocity") {
        out.velocity.push_back(0);
        CHECK_THROWS_WITH_AS(decode_piano_crnn(out), doctest::Contains("velocity"), std::invalid_argument);
    }
    SUBCASE("a pedal output") {
        out.pedal_frame.resize(5);
        CHECK_THROWS_WITH_AS(decode_piano_crnn(out), doctest::Contains("pedal_frame"), std::invalid_argument);
    }
    SUBCASE("only some pedal outputs") {
        out.pedal_onset.clear();
        CHECK_THROWS_WITH_AS(decode_piano_crnn(out), doctest::Contains("pedal_onset"), std::invalid_argument);
    }
    SUBCASE("a wrong frame count") {
        out.frames = 11;
        CHECK_THROWS_AS(decode_piano_crnn(out), std::invalid_argument);
    }
}
