// Basic Pitch note decoding against the reference's notes on the parity fixture
// (tests/transcribe/fixtures/README.md), and on small hand-made activations.
#include <doctest/doctest.h>

#include "kanade/transcribe/basic_pitch_model.hpp"
#include "kanade/transcribe/basic_pitch_transcriber.hpp"
#include "kanade/transcribe/note_decoding.hpp"
#include "../skip.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <iterator>

using namespace kanade::transcribe;

namespace {

const std::filesystem::path fixtures = std::filesystem::path(KANADE_SOURCE_DIR) / "tests/transcribe/fixtures";

torch::Tensor read_matrix(const char* name, std::int64_t bins) {
    std::ifstream in(fixtures / name, std::ios::binary);
    REQUIRE(in);
    std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    auto t = torch::empty({static_cast<std::int64_t>(bytes.size() / 4)}, torch::kFloat32);
    std::memcpy(t.data_ptr<float>(), bytes.data(), bytes.size() / 4 * 4);
    return t.reshape({-1, bins});
}

nlohmann::json reference_json() {
    std::ifstream in(fixtures / "basic_pitch_reference.json");
    REQUIRE(in);
    return nlohmann::json::parse(in);
}

void check_same_events(const std::vector<NoteEvent>& ours, const nlohmann::json& theirs) {
    REQUIRE(ours.size() == theirs.size());
    for (std::size_t i = 0; i < ours.size(); ++i) {
        INFO("note " << i);
        CHECK(ours[i].start_frame == theirs[i]["start_frame"].get<int>());
        CHECK(ours[i].duration_frames == theirs[i]["duration_frames"].get<int>());
        CHECK(ours[i].pitch == theirs[i]["pitch"].get<int>());
        CHECK(ours[i].amplitude == doctest::Approx(theirs[i]["amplitude"].get<double>()).epsilon(1e-9));
    }
}

}  // namespace

TEST_CASE("note decoding of the reference's activations gives the reference's notes, bends and times") {
    const auto json = reference_json();
    auto events = output_to_notes_poly(read_matrix("frames.f32", 88), read_matrix("onsets.f32", 88));
    REQUIRE(json["note_events"].size() > 10);
    check_same_events(events, json["note_events"]);
    add_pitch_bends(read_matrix("contours.f32", 264), events);
    const auto& notes = json["notes"];
    for (std::size_t i = 0; i < events.size(); ++i) {
        INFO("note " << i);
        CHECK(events[i].pitch_bends == notes[i]["pitchBends"].get<std::vector<int>>());
        const double start = model_frame_to_seconds(events[i].start_frame);
        CHECK(start == doctest::Approx(notes[i]["startTimeSeconds"].get<double>()).epsilon(1e-12));
        CHECK(model_frame_to_seconds(events[i].start_frame + events[i].duration_frames) - start ==
              doctest::Approx(notes[i]["durationSeconds"].get<double>()).epsilon(1e-12));
    }
}

TEST_CASE("basic-pitch transcriber end to end: the reference's notes from the fixture audio") {
    try {
        find_basic_pitch_model({});
    } catch (const std::runtime_error& error) {
        kanade::test::skip("basic-pitch", error.what());
        return;
    }
    TranscriberOptions options;
    options.pitch_bends = true;
    BasicPitchTranscriber basic_pitch(options);
    Transcriber* transcriber = &basic_pitch;
    std::ifstream in(fixtures / "basic_pitch_input.f32", std::ios::binary);
    std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    std::vector<float> audio(bytes.size() / 4);
    std::memcpy(audio.data(), bytes.data(), audio.size() * 4);
    CHECK(transcriber->sample_rate() == 22050);
    transcriber->push(audio);
    const auto notes = transcriber->finish();
    const auto reference = reference_json()["notes"];
    REQUIRE(notes.size() == reference.size());
    // Both sorted by start then pitch: the reference's list is in decoding order.
    std::vector<std::pair<double, int>> expected;
    for (const auto& note : reference)
        expected.emplace_back(note["startTimeSeconds"].get<double>(), note["pitchMidi"].get<int>());
    std::sort(expected.begin(), expected.end());
    for (std::size_t i = 0; i < notes.size(); ++i) {
        CHECK(notes[i].start_seconds == doctest::Approx(expected[i].first).epsilon(1e-9));
        CHECK(notes[i].pitch == expected[i].second);
        CHECK(notes[i].end_beat == doctest::Approx(notes[i].end_seconds * 2));
    }
    // The pitch bends of the notes in decoding order, as the reference has them.
    REQUIRE(basic_pitch.note_events().size() == reference.size());
    for (std::size_t i = 0; i < reference.size(); ++i)
        CHECK(basic_pitch.note_events()[i].pitch_bends == reference[i]["pitchBends"].get<std::vector<int>>());
    CHECK(make_transcriber(TranscriberOptions{})->sample_rate() == 22050);
}

TEST_CASE("note decoding on hand-made activations: one held note, thresholds and minimum length") {
    auto frames = torch::zeros({40, 88});
    auto onsets = torch::zeros({40, 88});
    frames.index_put_({torch::indexing::Slice(5, 25), 39}, 0.8);  // C4 (MIDI 60) for 20 frames
    onsets.index_put_({5, 39}, 0.9);
    NoteDecodingOptions options;
    options.melodia_trick = false;
    auto events = output_to_notes_poly(frames, onsets, options);
    REQUIRE(events.size() == 1);
    CHECK(events[0].pitch == 60);
    CHECK(events[0].start_frame == 5);
    CHECK(events[0].duration_frames == 20);
    CHECK(events[0].amplitude == doctest::Approx(0.8));
    options.onset_threshold = 0.95;  // the onset is too weak now, and nothing else finds the note
    CHECK(output_to_notes_poly(frames, onsets, options).empty());
    options.melodia_trick = true;  // ...but the melodia trick still does
    events = output_to_notes_poly(frames, onsets, options);
    REQUIRE(events.size() == 1);
    CHECK(events[0].pitch == 60);
    options.min_note_frames = 30;  // longer than the note
    CHECK(output_to_notes_poly(frames, onsets, options).empty());
    CHECK(min_note_frames(127.7) == 11);
    const auto notes = note_events_to_notes({{5, 20, 60, 0.8, {}}});
    REQUIRE(notes.size() == 1);
    CHECK(notes[0].velocity == 101);  // floor(0.8 * 127)
    CHECK(notes[0].start_seconds == doctest::Approx(5 * 256.0 / 22050));
    CHECK(output_to_notes_poly(torch::zeros({0, 88}), torch::zeros({0, 88})).empty());
}

TEST_CASE("an unknown backend is refused with std::invalid_argument") {
    TranscriberOptions options;
    options.backend = "no-such-backend";
    CHECK_THROWS_AS(make_transcriber(options), std::invalid_argument);
}
