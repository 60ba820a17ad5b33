#include "kanade/io/fluid_renderer.hpp"
#include "kanade/io/wav_file.hpp"

#include "test_paths.hpp"
#include "skip.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <stdexcept>

using kanade::midi::Event;
using kanade::midi::File;

namespace {

bool have_soundfont() {
    if (std::filesystem::exists(kanade::test::soundfont)) return true;
    kanade::test::skip("soundfont", "no SoundFont at " + kanade::test::soundfont.string());
    return false;
}

kanade::io::RenderOptions test_options() {
    kanade::io::RenderOptions options;
    options.soundfont = kanade::test::soundfont;
    return options;
}

// 120 BPM, 480 ticks per quarter: a tick is 1/960 s. Silence for the first half
// second, then C, E, G and a chord, the last note off at 2 s.
File test_file(int program = 0, std::uint32_t tempo = 500'000) {
    File file;
    file.format = 1;
    file.division.ticks_per_quarter = 480;
    file.tracks.resize(2);
    file.tracks[0].events = {Event::tempo(0, tempo), Event::time_signature(0, 4, 4), Event::end_of_track(0)};
    auto& events = file.tracks[1].events;
    events.push_back(Event::program_change(0, 0, program));
    events.push_back(Event::control_change(0, 0, 7, 110));
    int pitches[] = {60, 64, 67};
    for (int i = 0; i < 3; ++i) {
        events.push_back(Event::note_on(480 + 240 * i, 0, pitches[i], 100));
        events.push_back(Event::note_off(480 + 240 * (i + 1), 0, pitches[i]));
    }
    for (int pitch : pitches) events.push_back(Event::note_on(1440, 0, pitch, 90));
    for (int pitch : pitches) events.push_back(Event::note_off(1920, 0, pitch));
    events.push_back(Event::end_of_track(1920));
    return file;
}

float peak_between(const std::vector<float>& samples, int sample_rate, double from, double to) {
    auto first = static_cast<std::size_t>(from * sample_rate) * 2;
    auto last = std::min(samples.size(), static_cast<std::size_t>(to * sample_rate) * 2);
    float peak = 0;
    for (auto i = first; i < last; ++i) peak = std::max(peak, std::abs(samples[i]));
    return peak;
}

double rms(const std::vector<float>& samples) {
    double sum = 0;
    for (float s : samples) sum += double(s) * s;
    return samples.empty() ? 0 : std::sqrt(sum / double(samples.size()));
}

}  // namespace

TEST_CASE("render_to_wav writes the notes as audio of the expected length") {
    if (!have_soundfont()) return;
    kanade::test::TemporaryFolder folder;
    auto wav = folder / "out.wav";
    auto options = test_options();
    auto result = kanade::io::render_to_wav(test_file(), wav, options);

    const int rate = 44100;
    const double expected_seconds = 2.0 + options.tail_seconds;
    CHECK(result.seconds == doctest::Approx(expected_seconds).epsilon(1e-6));
    CHECK(result.frames == std::size_t(expected_seconds * rate));
    CHECK(result.events == 1 + 1 + 6 + 6);
    CHECK(result.peak > 0.05f);

    auto data = kanade::io::read_wav(wav);
    CHECK(data.channels == 2);
    CHECK(data.sample_rate == rate);
    // FluidSynth works in 64-frame blocks; allow that and a millisecond.
    CHECK(std::abs(double(data.frames()) - expected_seconds * rate) <= 64 + rate / 1000.0);
    CHECK(rms(data.samples) > 0.005);
    float peak = peak_between(data.samples, rate, 0, expected_seconds);
    CHECK(peak == doctest::Approx(std::min(result.peak, 1.0f)).epsilon(0.001));

    // Timing: silent before the first note at 0.5 s, sounding just after it.
    CHECK(peak_between(data.samples, rate, 0, 0.495) < 1e-4f);
    CHECK(peak_between(data.samples, rate, 0.5, 0.6) > 0.02f);
    // The tail rings out: something is still audible shortly after the last note-off.
    CHECK(peak_between(data.samples, rate, 2.0, 2.2) > 1e-3f);
    CHECK(std::distance(std::filesystem::directory_iterator(folder.path()), {}) == 1);
}

TEST_CASE("rendering is deterministic") {
    if (!have_soundfont()) return;
    auto options = test_options();
    auto first = kanade::io::render_to_samples(test_file(), options);
    auto second = kanade::io::render_to_samples(test_file(), options);
    CHECK(first.sample_rate == 44100);
    CHECK(first.channels == 2);
    REQUIRE(first.samples.size() == second.samples.size());
    CHECK(first.samples == second.samples);
    CHECK(first.result.peak == second.result.peak);
}

TEST_CASE("tempo, sample rate and tail set the length") {
    if (!have_soundfont()) return;
    auto options = test_options();
    options.sample_rate = 22050;
    options.tail_seconds = 0.5;
    // 60 BPM: the last event, at beat 4, is at 4 s.
    auto audio = kanade::io::render_to_samples(test_file(0, 1'000'000), options);
    CHECK(audio.sample_rate == 22050);
    CHECK(audio.result.frames == std::size_t(4.5 * 22050));
    CHECK(audio.samples.size() == audio.result.frames * 2);
    CHECK(peak_between(audio.samples, 22050, 0, 0.99) < 1e-4f);
    CHECK(peak_between(audio.samples, 22050, 1.0, 1.1) > 0.02f);
}

TEST_CASE("program_override replaces the file's programs") {
    if (!have_soundfont()) return;
    auto options = test_options();
    auto piano = kanade::io::render_to_samples(test_file(0), options);
    auto violin = kanade::io::render_to_samples(test_file(40), options);
    CHECK(piano.samples != violin.samples);
    options.program_override = 0;
    auto violin_as_piano = kanade::io::render_to_samples(test_file(40), options);
    CHECK(violin_as_piano.samples == piano.samples);
}

TEST_CASE("a missing SoundFont is named in the error and leaves no file") {
    kanade::test::TemporaryFolder folder;
    kanade::io::RenderOptions options;
    options.soundfont = folder / "no such.sf2";
    auto wav = folder / "out.wav";
    CHECK_THROWS_WITH_AS(kanade::io::render_to_wav(test_file(), wav, options),
                         doctest::Contains((folder / "no such.sf2").string().c_str()), std::runtime_error);
    CHECK(std::filesystem::is_empty(folder.path()));

    // A file that is not a SoundFont is named too.
    auto bogus = folder / "bogus.sf2";
    { std::ofstream(bogus) << "RIFF but not really"; }
    options.soundfont = bogus;
    CHECK_THROWS_WITH_AS(kanade::io::render_to_samples(test_file(), options), doctest::Contains(bogus.string().c_str()),
                         std::runtime_error);
}

TEST_CASE("a file longer than max_seconds is refused before rendering") {
    kanade::test::TemporaryFolder folder;
    auto file = test_file();
    // Two hours at 120 BPM: 7200 s * 960 ticks per second.
    file.tracks[1].events.push_back(Event::note_on(7200ull * 960, 0, 60, 100));
    file.tracks[1].events.push_back(Event::end_of_track(7200ull * 960));
    auto options = test_options();
    options.max_seconds = 3600;
    CHECK_THROWS_WITH_AS(kanade::io::render_to_wav(file, folder / "long.wav", options), doctest::Contains("3600"),
                         std::runtime_error);
    CHECK(std::filesystem::is_empty(folder.path()));
}

TEST_CASE("render options out of range are refused") {
    auto options = test_options();
    options.sample_rate = 1000;
    CHECK_THROWS_AS(kanade::io::render_to_samples(test_file(), options), std::invalid_argument);
    options = test_options();
    options.gain = -1;
    CHECK_THROWS_AS(kanade::io::render_to_samples(test_file(), options), std::invalid_argument);
    options = test_options();
    options.program_override = 128;
    CHECK_THROWS_AS(kanade::io::render_to_samples(test_file(), options), std::invalid_argument);
}
