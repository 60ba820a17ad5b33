#include "kanade/io/audio_file.hpp"

#include "../test_paths.hpp"
#include "../skip.hpp"

#include <doctest/doctest.h>
#include <sndfile.h>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

using namespace kanade;

namespace {

// Writes `seconds` of a sine (left) and silence (right) when stereo; false when this
// libsndfile cannot write the format.
bool write_sine(const std::filesystem::path& path, int format, int rate, int channels, double frequency,
                double seconds) {
    SF_INFO info{};
    info.samplerate = rate;
    info.channels = channels;
    info.format = format;
    SNDFILE* file = sf_open(path.c_str(), SFM_WRITE, &info);
    if (!file) return false;
    const auto frames = static_cast<std::size_t>(rate * seconds);
    std::vector<float> samples(frames * static_cast<std::size_t>(channels), 0.0f);
    for (std::size_t i = 0; i < frames; ++i)
        samples[i * static_cast<std::size_t>(channels)] =
            static_cast<float>(0.5 * std::sin(2 * M_PI * frequency * static_cast<double>(i) / rate));
    sf_writef_float(file, samples.data(), static_cast<sf_count_t>(frames));
    sf_close(file);
    return true;
}

// Frequency from upward zero crossings, away from the edges.
double measured_frequency(const std::vector<float>& samples, int rate) {
    const std::size_t margin = samples.size() / 10;
    std::size_t first = 0, last = 0, crossings = 0;
    for (std::size_t i = margin; i + 1 < samples.size() - margin; ++i)
        if (samples[i] <= 0 && samples[i + 1] > 0) {
            if (crossings == 0) first = i;
            last = i;
            ++crossings;
        }
    return crossings > 1 ? static_cast<double>(crossings - 1) * rate / static_cast<double>(last - first) : 0;
}

double peak(const std::vector<float>& samples) {
    double largest = 0;
    for (std::size_t i = samples.size() / 10; i < samples.size() * 9 / 10; ++i)
        largest = std::max(largest, std::abs(static_cast<double>(samples[i])));
    return largest;
}

}  // namespace

TEST_CASE("WAV, FLAC and OGG at any rate and channel count arrive as mono at the rate asked for") {
    test::TemporaryFolder folder;
    struct Case {
        const char* name;
        int format, rate, channels;
        double tolerance;  // lossy formats change the waveform a little
    };
    const Case cases[] = {
        {"a.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 2, 0.01},
        {"b.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_24, 96000, 1, 0.01},
        {"c.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 8000, 2, 0.01},
        {"d.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 48000, 2, 0.01},
        {"e.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 32000, 2, 0.05},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        auto path = folder / c.name;
        REQUIRE(write_sine(path, c.format, c.rate, c.channels, 440.0, 2.0));
        io::AudioFileReader reader(path, 22050);
        CHECK(reader.info().sample_rate == c.rate);
        CHECK(reader.info().channels == c.channels);
        CHECK(reader.info().seconds == doctest::Approx(2.0).epsilon(0.01));
        auto samples = io::read_audio_mono(path, 22050);
        CHECK(static_cast<double>(samples.size()) == doctest::Approx(2.0 * 22050).epsilon(0.01));
        CHECK(measured_frequency(samples, 22050) == doctest::Approx(440.0).epsilon(0.01));
        // The silent right channel halves a stereo file's mono mix.
        const double expected_peak = c.channels == 2 ? 0.25 : 0.5;
        CHECK(peak(samples) == doctest::Approx(expected_peak).epsilon(c.tolerance + 0.01));
    }
}

TEST_CASE("MP3 is read through libsndfile's MPEG decoder") {
    test::TemporaryFolder folder;
    auto path = folder / "tone.mp3";
    if (!write_sine(path, SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 44100, 2, 330.0, 3.0)) {
        test::skip("libsndfile-mp3", "this libsndfile cannot write MP3, so there is no MP3 to read");
        return;
    }
    auto samples = io::read_audio_mono(path, 22050);
    CHECK(static_cast<double>(samples.size()) == doctest::Approx(3.0 * 22050).epsilon(0.05));
    CHECK(measured_frequency(samples, 22050) == doctest::Approx(330.0).epsilon(0.02));
}

TEST_CASE("a long file streams in blocks whose sum is the whole") {
    test::TemporaryFolder folder;
    auto path = folder / "long.wav";
    REQUIRE(write_sine(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 2, 220.0, 20.0));
    io::AudioFileReader reader(path, 16000);
    std::size_t total = 0, blocks = 0, largest = 0;
    while (!reader.done()) {
        auto block = reader.read(4096);
        total += block.size();
        largest = std::max(largest, block.size());
        ++blocks;
    }
    CHECK(blocks > 100);
    CHECK(largest < 4096);  // never more than a block's worth at the lower rate
    CHECK(static_cast<double>(total) == doctest::Approx(20.0 * 16000).epsilon(0.001));
}

TEST_CASE("what is not audio is refused naming the file") {
    test::TemporaryFolder folder;
    auto garbage = folder / "notes.wav";
    std::ofstream(garbage) << "this is not a RIFF file at all";
    try {
        io::AudioFileReader reader(garbage, 22050);
        FAIL("a text file was read as audio");
    } catch (const io::AudioFileError& error) {
        CHECK(std::string(error.what()).find("notes.wav") != std::string::npos);
    }
    CHECK_THROWS_AS(io::AudioFileReader(folder / "missing.flac", 22050), io::AudioFileError);
    CHECK_THROWS_AS(io::AudioFileReader(folder.path(), 22050), io::AudioFileError);
    CHECK_THROWS_AS(io::AudioFileReader(garbage, 10), std::invalid_argument);
}
