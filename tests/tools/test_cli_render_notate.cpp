// End to end: `kanade render` and `kanade notate` as a user runs them.
#include "kanade/io/wav_file.hpp"
#include "kanade/midi/note.hpp"
#include "kanade/midi/smf.hpp"
#include "kanade/util/run_program.hpp"

#include "../test_paths.hpp"
#include "../skip.hpp"

#include <doctest/doctest.h>

using namespace kanade;

namespace {

const std::filesystem::path kanade_binary = test::binary_dir / "bin" / "kanade";

util::RunResult run(std::vector<std::string> arguments) {
    util::RunOptions options;
    options.timeout_seconds = 300;
    return util::run_program(arguments, options);
}

util::RunResult kanade_cli(std::vector<std::string> arguments) {
    arguments.insert(arguments.begin(), kanade_binary.string());
    return run(std::move(arguments));
}

// Two bars at 120 BPM: a melody over a bass line, the last note ending at 4 s.
std::filesystem::path write_song(const std::filesystem::path& path) {
    std::vector<midi::Note> notes;
    int melody[] = {60, 62, 64, 65, 67, 65, 64, 62};
    for (int i = 0; i < 8; ++i) {
        midi::Note note;
        note.start_beat = i;
        note.end_beat = i + 1;
        note.pitch = static_cast<std::uint8_t>(melody[i]);
        notes.push_back(note);
        if (i % 4 == 0) {
            note.end_beat = i + 4;
            note.pitch = 48;
            notes.push_back(note);
        }
    }
    midi::write_smf(midi::notes_to_file(notes), path);
    return path;
}

}  // namespace

TEST_CASE("kanade render writes the WAV and says how fast it was") {
    if (!std::filesystem::exists(kanade_binary)) {
        test::skip("kanade", "no kanade binary at " + kanade_binary.string());
        return;
    }
    test::TemporaryFolder folder;
    auto mid = write_song(folder / "song.mid");
    auto wav = folder / "song.wav";
    if (std::filesystem::exists(test::soundfont)) {
        auto result = kanade_cli({"render", mid.string(), wav.string(), "--tail", "0.5", "--sample-rate", "22050"});
        INFO(result.output);
        REQUIRE(result.succeeded());
        CHECK(result.output.find("4.5 s of audio") != std::string::npos);
        CHECK(result.output.find("real time") != std::string::npos);
        auto audio = io::read_wav(wav);
        CHECK(audio.sample_rate == 22050);
        CHECK(audio.channels == 2);
        CHECK(audio.frames() == 4.5 * 22050);
    } else {
        test::skip("soundfont", "no SoundFont at " + test::soundfont.string() + ": rendering not checked");
    }

    auto missing = folder / "missing.sf2";
    auto no_soundfont =
        kanade_cli({"render", mid.string(), (folder / "x.wav").string(), "--soundfont", missing.string()});
    CHECK(no_soundfont.exit_status == 3);
    CHECK(no_soundfont.output.find(missing.string()) != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(folder / "x.wav"));

    CHECK(kanade_cli({"render", mid.string()}).exit_status == 2);
    CHECK(kanade_cli({"render", mid.string(), wav.string(), "--program", "200"}).exit_status == 2);
}

TEST_CASE("kanade notate writes the .ly, and the PDF where lilypond is installed") {
    if (!std::filesystem::exists(kanade_binary)) {
        test::skip("kanade", "no kanade binary at " + kanade_binary.string());
        return;
    }
    test::TemporaryFolder folder;
    auto mid = write_song(folder / "song.mid");

    auto only_ly = kanade_cli({"notate", mid.string(), (folder / "a").string(), "--no-render", "--title", "A song"});
    INFO(only_ly.output);
    CHECK(only_ly.exit_status == 0);
    REQUIRE(std::filesystem::exists(folder / "a.ly"));
    CHECK_FALSE(std::filesystem::exists(folder / "a.pdf"));

    // Without lilypond on PATH: the .ly all the same, and exit code 3.
    auto without =
        run({"env", "PATH=/nonexistent", kanade_binary.string(), "notate", mid.string(), (folder / "b").string()});
    INFO(without.output);
    CHECK(without.exit_status == 3);
    CHECK(std::filesystem::exists(folder / "b.ly"));
    CHECK(without.output.find("apt-get install lilypond") != std::string::npos);
    auto without_render = run({"env", "PATH=/nonexistent", kanade_binary.string(), "notate", mid.string(),
                               (folder / "c").string(), "--no-render"});
    CHECK(without_render.exit_status == 0);

    if (!util::program_available("lilypond")) {
        test::skip("lilypond", "lilypond is not installed: PDF not checked");
        return;
    }
    auto full = kanade_cli({"notate", mid.string(), (folder / "d").string(), "--bars", "1"});
    INFO(full.output);
    CHECK(full.exit_status == 0);
    CHECK(std::filesystem::exists(folder / "d.pdf"));
    CHECK(std::filesystem::exists(folder / "d.png"));
    CHECK(full.output.find("cut from 2") != std::string::npos);
}
