// The daemon's live audio output on its own: the real-time WAV renderer and its refusals.
// (The recorder has its own tests: test_recorder.cpp.)
#include "kanade/io/audio_output.hpp"
#include "kanade/io/wav_file.hpp"

#include "test_paths.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <thread>

using namespace kanade;
using namespace std::chrono_literals;

namespace {

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
