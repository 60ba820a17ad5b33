// `kanade transcribe`, `corpus add` and `eval-transcription` end to end: real audio
// files, the real binary, the Basic Pitch model where setup installed it.
#include "kanade/io/fluid_renderer.hpp"
#include "kanade/io/wav_file.hpp"
#include "kanade/midi/note.hpp"
#include "kanade/midi/smf.hpp"
#include "kanade/util/run_program.hpp"

#include "../test_paths.hpp"
#include "../skip.hpp"
#include "../transcribe/piano_crnn_formula.hpp"
#include "kanade_cli.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <thread>

using namespace kanade;

namespace {

using test::kanade_cli;

// Whether the Basic Pitch model is installed (its absence is said once, not failed).
bool basic_pitch_installed(const util::RunResult& result) {
    if (result.output.find("model.json") != std::string::npos && !result.succeeded() &&
        result.output.find("npm install") != std::string::npos) {
        test::skip("basic-pitch",
                   "the Basic Pitch model is not installed (tools/setup-debian.sh installs it): " + result.output);
        return false;
    }
    return true;
}

// A few seconds of a corpus piece, rendered as piano into a WAV file.
void render_piece(const std::filesystem::path& wav, double seconds) {
    auto file = midi::read_smf(test::openmsx_dir / "relax_song.mid").file;
    auto notes = midi::extract_notes(file);
    std::erase_if(notes, [&](const midi::Note& note) { return note.start_seconds >= seconds; });
    for (auto& note : notes) note.end_beat = std::min(note.end_beat, note.start_beat + 4);
    io::RenderOptions options;
    options.sample_rate = 32000;
    options.program_override = 0;
    io::render_to_wav(midi::notes_to_file(notes), wav, options);
}

}  // namespace

TEST_CASE("kanade transcribe turns a folder of recordings into MIDI, skips what is done, reports a bad file") {
    test::TemporaryFolder folder;
    std::filesystem::create_directories(folder / "in" / "set");
    render_piece(folder / "in" / "set" / "piece.wav", 6);
    std::ofstream(folder / "in" / "broken.flac") << "not audio";
    std::ofstream(folder / "in" / "notes.txt") << "not a recording: ignored";

    auto first = kanade_cli({"transcribe", (folder / "in").string(), (folder / "out").string(), "--quiet"});
    INFO(first.output);
    if (!basic_pitch_installed(first)) return;
    CHECK(first.exit_status == 1);  // one file failed
    CHECK(first.output.find("broken.flac") != std::string::npos);
    auto midi_path = folder / "out" / "set" / "piece.mid";
    REQUIRE(std::filesystem::exists(midi_path));
    CHECK_FALSE(std::filesystem::exists(folder / "out" / "broken.mid"));
    auto notes = midi::extract_notes(midi::read_smf(midi_path).file);
    CHECK(notes.size() > 10);
    CHECK(first.output.find("x real time") != std::string::npos);

    std::filesystem::remove(folder / "in" / "broken.flac");
    auto again = kanade_cli({"transcribe", (folder / "in").string(), (folder / "out").string(), "--quiet"});
    INFO(again.output);
    CHECK(again.succeeded());
    CHECK(again.output.find("0 transcribed, 1 already done") != std::string::npos);
}

TEST_CASE("kanade transcribe refuses what it cannot read, naming it") {
    test::TemporaryFolder folder;
    auto missing = kanade_cli({"transcribe", (folder / "nothing.wav").string(), (folder / "x.mid").string()});
    CHECK(missing.exit_status == 1);
    CHECK(missing.output.find("nothing.wav") != std::string::npos);
    std::ofstream(folder / "a.wav") << "RIFF but not really";
    auto wrong_model = kanade_cli({"transcribe", (folder / "a.wav").string(), (folder / "a.mid").string(), "--model",
                                   (folder / "missing-model.json").string()});
    CHECK(wrong_model.exit_status == 1);
    CHECK(wrong_model.output.find("missing-model.json") != std::string::npos);
}

TEST_CASE("kanade transcribe --backend piano-crnn: a checkpoint given, notes and sustain pedal out") {
    test::TemporaryFolder folder;
    render_piece(folder / "piece.wav", 3);
    auto absent = kanade_cli({"transcribe", (folder / "piece.wav").string(), (folder / "piece.mid").string(),
                              "--backend", "piano-crnn", "--model", (folder / "absent.pt").string()});
    CHECK(absent.exit_status == 1);
    CHECK(absent.output.find("absent.pt") != std::string::npos);
    CHECK(absent.output.find("torch.save") != std::string::npos);  // the conversion command

    // Formula weights (not the trained ones, which are not redistributable): what is
    // checked is the path from audio file through network and decoding to the MIDI file.
    test::write_formula_checkpoint(folder / "piano-crnn.pt");
    auto run = kanade_cli({"transcribe", (folder / "piece.wav").string(), (folder / "piece.mid").string(), "--backend",
                           "piano-crnn", "--model", (folder / "piano-crnn.pt").string(), "--quiet"});
    INFO(run.output);
    REQUIRE(run.exit_status == 0);
    const auto file = midi::read_smf(folder / "piece.mid").file;
    const auto notes = midi::extract_notes(file);
    REQUIRE_FALSE(notes.empty());
    // One 10 s segment: the rendered audio and its zero padding.
    const auto outside = std::count_if(notes.begin(), notes.end(), [](const midi::Note& note) {
        return note.pitch < 21 || note.pitch > 108 || note.start_seconds < 0.0 || note.end_seconds > 10.01;
    });
    CHECK(outside == 0);
    int pedal_down = 0, pedal_up = 0;
    for (const auto& event : file.tracks.at(1).events)
        if (event.kind == midi::EventKind::channel && event.command() == 0xB0 && event.data.at(0) == 64)
            (event.data.at(1) >= 64 ? pedal_down : pedal_up) += 1;
    CHECK(pedal_down == pedal_up);
    MESSAGE("piano-crnn on formula weights: " << notes.size() << " notes, " << pedal_down << " pedal presses");
}

TEST_CASE("kanade corpus add makes a corpus kanade train reads, and eval-transcription scores a piece") {
    test::TemporaryFolder folder;
    std::filesystem::create_directories(folder / "recordings");
    render_piece(folder / "recordings" / "take1.wav", 8);
    auto added = kanade_cli(
        {"corpus", "add", (folder / "recordings").string(), "--to", (folder / "corpus").string(), "--quiet"});
    INFO(added.output);
    if (!basic_pitch_installed(added)) return;
    REQUIRE(added.succeeded());
    auto stats = kanade_cli({"corpus", "stats", (folder / "corpus").string(), "--json"});
    INFO(stats.output);
    CHECK(stats.succeeded());
    CHECK(stats.output.find("\"files\":1") != std::string::npos);

    auto scored =
        kanade_cli({"eval-transcription", (test::openmsx_dir / "relax_song.mid").string(), "--max-seconds", "20"});
    INFO(scored.output);
    REQUIRE(scored.succeeded());
    std::smatch f1;
    REQUIRE(std::regex_search(scored.output, f1, std::regex(R"("f1":([0-9.e-]+))")));
    CHECK(std::stod(f1[1]) > 0.3);  // far above chance (matching pitch and onset by luck is rare)
}
