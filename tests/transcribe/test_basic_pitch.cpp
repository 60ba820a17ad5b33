// Basic Pitch in libtorch against Spotify's reference (tools/basic-pitch-reference.mjs
// on the tfjs CPU backend): activations within 1e-3 on a 4 s fixture that spans three
// windows, fed whole and in odd-sized chunks.
#include <doctest/doctest.h>

#include "kanade/transcribe/basic_pitch_model.hpp"
#include "../skip.hpp"

#include <cstdint>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>

using namespace kanade::transcribe;

namespace {

const std::filesystem::path fixtures = std::filesystem::path(KANADE_SOURCE_DIR) / "tests/transcribe/fixtures";

std::vector<float> read_f32(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    REQUIRE_MESSAGE(in, "cannot open " << file);
    std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    std::vector<float> values(bytes.size() / sizeof(float));
    std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
    return values;
}

torch::Tensor reference(const char* name, std::int64_t bins) {
    auto values = read_f32(fixtures / name);
    return torch::tensor(values).reshape({-1, bins});
}

// The installed model, or nothing (the test then says why it skips).
const BasicPitchModel* installed_model() {
    static std::unique_ptr<BasicPitchModel> model;
    static bool tried = false;
    if (!tried) {
        tried = true;
        std::filesystem::path found;
        try {
            found = find_basic_pitch_model({});
        } catch (const std::runtime_error& error) {
            kanade::test::skip("basic-pitch", error.what());
            return model.get();
        }
        model = std::make_unique<BasicPitchModel>(found);  // an installed but broken model fails
    }
    return model.get();
}

double max_difference(const torch::Tensor& a, const torch::Tensor& b) {
    REQUIRE(a.sizes() == b.sizes());
    return (a - b).abs().max().item<double>();
}

}  // namespace

TEST_CASE("basic-pitch activations match the reference implementation within 1e-3") {
    const auto* model = installed_model();
    if (!model) return;
    const auto audio = read_f32(fixtures / "basic_pitch_input.f32");
    const auto ours = basic_pitch_activations(*model, audio);
    const auto frames = reference("frames.f32", 88);
    CHECK(ours.frames.size(0) == frames.size(0));
    CHECK(ours.frames.size(0) == static_cast<std::int64_t>(audio.size() * 86 / 22050));
    const double frames_diff = max_difference(ours.frames, frames);
    const double onsets_diff = max_difference(ours.onsets, reference("onsets.f32", 88));
    const double contours_diff = max_difference(ours.contours, reference("contours.f32", 264));
    MESSAGE("max abs difference: frames " << frames_diff << ", onsets " << onsets_diff << ", contours "
                                          << contours_diff);
    CHECK(frames_diff < 1e-3);
    CHECK(onsets_diff < 1e-3);
    CHECK(contours_diff < 1e-3);
    // The fixture is music, not silence: the comparison above is not of zeros.
    CHECK(frames.max().item<float>() > 0.5f);
}

TEST_CASE("basic-pitch streamed in odd chunks gives the activations of the whole buffer") {
    const auto* model = installed_model();
    if (!model) return;
    const auto audio = read_f32(fixtures / "basic_pitch_input.f32");
    const auto whole = basic_pitch_activations(*model, audio);
    BasicPitchStream stream(*model, 1);
    std::size_t at = 0, chunk = 1;
    while (at < audio.size()) {
        const std::size_t n = std::min(chunk, audio.size() - at);
        stream.push(std::span<const float>(audio).subspan(at, n));
        at += n;
        chunk = chunk * 3 + 7;
    }
    const auto streamed = stream.finish();
    CHECK(max_difference(whole.frames, streamed.frames) < 1e-5);
    CHECK(max_difference(whole.contours, streamed.contours) < 1e-5);
}

TEST_CASE("basic-pitch windowing: frame counts follow the input length, silence gives no activity") {
    const auto* model = installed_model();
    if (!model) return;
    for (const std::size_t length : {std::size_t{0}, std::size_t{1000}, std::size_t{40004}, std::size_t{72328}}) {
        std::vector<float> silence(length, 0.0f);
        const auto out = basic_pitch_activations(*model, silence);
        CHECK(out.frames.size(0) == static_cast<std::int64_t>(length * 86 / 22050));
        CHECK(out.onsets.size(0) == out.frames.size(0));
        CHECK(out.contours.size(1) == 264);
        if (out.frames.size(0) > 0) CHECK(out.frames.max().item<float>() < 0.3f);
    }
}

TEST_CASE("a missing model names the places tried and the install command") {
    const auto missing = std::filesystem::temp_directory_path() / "kanade-no-such-model/model.json";
    try {
        find_basic_pitch_model(missing);
        FAIL("no error");
    } catch (const std::runtime_error& error) {
        const std::string text = error.what();
        CHECK(text.find(missing.string()) != std::string::npos);
        CHECK(text.find("npm install") != std::string::npos);
    }
}
