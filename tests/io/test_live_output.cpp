// The daemon's live outputs on their own: the real-time WAV renderer and the recorder.
#include "kanade/io/audio_output.hpp"
#include "kanade/io/recorder.hpp"
#include "kanade/io/wav_file.hpp"
#include "kanade/midi/note.hpp"
#include "kanade/midi/smf.hpp"

#include "test_paths.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <thread>

using namespace kanade;
using namespace std::chrono_literals;

namespace {

std::int64_t now_ns() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

double rms(const std::vector<float>& samples, std::size_t from, std::size_t to) {
    double sum = 0;
    for (std::size_t i = from; i < to && i < samples.size(); ++i) sum += double(samples[i]) * samples[i];
    return std::sqrt(sum / double(std::max<std::size_t>(1, to - from)));
}

}  // namespace

TEST_CASE("with no audio device the synthesizer renders to a WAV file in real time") {
    if (!std::filesystem::exists(test::soundfont)) return;
    test::TemporaryFolder folder;
    io::AudioOutputConfig config;
    config.backend = (folder / "live.wav").string();
    auto started = std::chrono::steady_clock::now();
    {
        io::AudioOutput audio(config);
        CHECK(audio.backend() == "wav");
        std::this_thread::sleep_for(400ms);  // silence first
        audio.push(midi::Message::note_on(0, 60, 110));
        audio.push(midi::Message::note_on(0, 67, 110));
        std::this_thread::sleep_for(500ms);
        audio.push(midi::Message::note_off(0, 60));
        audio.push(midi::Message::note_off(0, 67));
        audio.stop();
    }
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    auto wav = io::read_wav(folder / "live.wav");
    double seconds = double(wav.frames()) / wav.sample_rate;
    CHECK(seconds > 0.8);
    CHECK(seconds < wall + 1.5);  // real time plus the release tail, not faster than real time
    auto frame = [&](double t) { return static_cast<std::size_t>(t * wav.sample_rate) * 2; };
    CHECK(rms(wav.samples, frame(0.0), frame(0.3)) < 1e-4);
    CHECK(rms(wav.samples, frame(0.45), frame(0.85)) > 1e-3);
}

TEST_CASE("a missing SoundFont and an unopenable device are refused clearly") {
    io::AudioOutputConfig config;
    config.backend = "portaudio";
    config.soundfont = "/no/such.sf2";
    CHECK_THROWS_WITH(io::AudioOutput{config}, doctest::Contains("/no/such.sf2"));
    io::AudioOutputConfig none;
    none.backend = "none";
    io::AudioOutput silent(none);
    CHECK(silent.push(midi::Message::note_on(0, 60, 100)));
}

TEST_CASE("the recorder keeps both parts in a valid MIDI file while it records and after") {
    test::TemporaryFolder folder;
    io::RecorderConfig config;
    config.dir = folder / "rec";
    config.stem = "take";
    config.flush_seconds = 0.1;
    io::Recorder recorder(config, "{\"event\":\"start\",\"model\":\"test\"}");
    auto t0 = now_ns();
    recorder.push({t0, io::Part::human, midi::Message::note_on(0, 60, 90, t0)});
    recorder.push({t0 + 250'000'000, io::Part::human, midi::Message::note_off(0, 60, t0 + 250'000'000)});
    recorder.push({t0 + 500'000'000, io::Part::machine, midi::Message::note_on(0, 72, 100, t0 + 500'000'000)});
    std::this_thread::sleep_for(400ms);

    // Mid-recording: the file is already valid, and the sounding machine note is closed in it.
    auto during = midi::extract_notes(midi::read_smf(recorder.midi_path()).file);
    REQUIRE(during.size() == 2);
    CHECK(during[0].pitch == 60);
    CHECK(during[0].end_seconds - during[0].start_seconds == doctest::Approx(0.25).epsilon(0.01));

    recorder.push({t0 + 700'000'000, io::Part::machine, midi::Message::note_off(0, 72, t0 + 700'000'000)});
    recorder.log("{\"event\":\"tempo\",\"bpm\":90}");
    recorder.stop();
    auto file = midi::read_smf(recorder.midi_path()).file;
    REQUIRE(file.tracks.size() == 3);
    auto notes = midi::extract_notes(file);
    REQUIRE(notes.size() == 2);
    CHECK(notes[1].pitch == 72);
    CHECK(notes[1].start_seconds - notes[0].start_seconds == doctest::Approx(0.5).epsilon(0.01));
    CHECK(notes[1].end_seconds - notes[1].start_seconds == doctest::Approx(0.2).epsilon(0.02));

    std::ifstream log(recorder.log_path());
    std::string first, line;
    std::getline(log, first);
    CHECK(first.find("\"model\":\"test\"") != std::string::npos);
    int events = 0;
    bool tempo_logged = false;
    while (std::getline(log, line)) {
        events += line.find("\"part\"") != std::string::npos;
        tempo_logged |= line.find("\"tempo\"") != std::string::npos;
    }
    CHECK(events == 4);
    CHECK(tempo_logged);
    CHECK(recorder.counters().write_errors == 0);
}
