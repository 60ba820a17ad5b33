#include "kanade/io/wav_file.hpp"

#include "test_paths.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <stdexcept>
#include <vector>

namespace {

std::size_t files_in(const std::filesystem::path& folder) {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(folder)) ++n;
    return n;
}

}  // namespace

TEST_CASE("a WAV written as 16-bit PCM reads back, clipped at full scale") {
    kanade::test::TemporaryFolder folder;
    std::vector<float> samples = {0.0f, 0.5f, -0.5f, 0.25f, 2.0f, -2.0f, 1.0f, -1.0f};
    auto path = folder / "sub" / "a.wav";
    kanade::io::write_wav(path, samples, 2, 22050);
    CHECK(files_in(folder / "sub") == 1);  // no temporary file left beside it

    auto data = kanade::io::read_wav(path);
    CHECK(data.channels == 2);
    CHECK(data.sample_rate == 22050);
    REQUIRE(data.frames() == 4);
    const float lsb = 1.0f / 32768.0f;
    CHECK(data.samples[1] == doctest::Approx(0.5).epsilon(lsb));
    CHECK(data.samples[2] == doctest::Approx(-0.5).epsilon(lsb));
    CHECK(data.samples[4] >= 1.0f - 2 * lsb);  // clipped, not wrapped round to negative
    CHECK(data.samples[5] <= -1.0f + lsb);
    // 16 bits: quantisation steps of 1/32768
    CHECK(std::abs(data.samples[3] - 0.25f) <= lsb);
}

TEST_CASE("a WavWriter that is not committed leaves nothing behind") {
    kanade::test::TemporaryFolder folder;
    {
        kanade::io::WavWriter writer(folder / "b.wav", 1, 8000);
        std::vector<float> samples(100, 0.1f);
        writer.write(samples);
        CHECK(writer.frames_written() == 100);
    }
    CHECK(files_in(folder.path()) == 0);

    kanade::io::WavWriter stereo(folder / "c.wav", 2, 8000);
    CHECK_THROWS_AS(stereo.write(std::vector<float>(3, 0.0f)), std::invalid_argument);
}

TEST_CASE("WAV errors name the file") {
    kanade::test::TemporaryFolder folder;
    auto missing = folder / "missing.wav";
    try {
        kanade::io::read_wav(missing);
        FAIL("expected an exception");
    } catch (const std::runtime_error& error) {
        CHECK(std::string(error.what()).find(missing.string()) != std::string::npos);
    }
    auto not_wav = folder / "text.wav";
    kanade::io::write_wav(folder / "ok.wav", std::vector<float>{0.0f}, 1, 8000);
    {
        std::ofstream out(not_wav);
        out << "not a sound file\n";
    }
    CHECK_THROWS_WITH_AS(kanade::io::read_wav(not_wav), doctest::Contains(not_wav.string().c_str()),
                         std::runtime_error);
    CHECK_THROWS_AS(kanade::io::write_wav(folder / "x.wav", std::vector<float>{0.0f}, 0, 8000), std::invalid_argument);
}
