// Basic Pitch speed: activations (network + windowing) and note decoding for 60 s of
// the parity fixture's music (looped), reported as multiples of real time. Skips when
// the npm model is not installed (tools/setup-debian.sh).
#include "kanade/transcribe/basic_pitch_model.hpp"
#include "kanade/transcribe/note_decoding.hpp"

#include <benchmark/benchmark.h>

#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>

using namespace kanade::transcribe;

namespace {

std::vector<float> sixty_seconds_of_music() {
    std::ifstream in(std::filesystem::path(KANADE_SOURCE_DIR) / "tests/transcribe/fixtures/basic_pitch_input.f32",
                     std::ios::binary);
    std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    std::vector<float> clip(bytes.size() / 4);
    std::memcpy(clip.data(), bytes.data(), clip.size() * 4);
    std::vector<float> audio(60 * basic_pitch::sample_rate);
    for (std::size_t i = 0; i < audio.size() && !clip.empty(); ++i) audio[i] = clip[i % clip.size()];
    return audio;
}

const BasicPitchModel* model() {
    static std::unique_ptr<BasicPitchModel> loaded = [] {
        try {
            return std::make_unique<BasicPitchModel>(find_basic_pitch_model({}));
        } catch (const std::exception& error) {
            std::cerr << error.what() << "\n";
            return std::unique_ptr<BasicPitchModel>();
        }
    }();
    return loaded.get();
}

void report_real_time(benchmark::State& state, double audio_seconds) {
    state.counters["x_real_time"] =
        benchmark::Counter(audio_seconds * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_BasicPitchActivations60s(benchmark::State& state) {
    if (!model()) return state.SkipWithError("basic-pitch model not installed");
    const auto audio = sixty_seconds_of_music();
    for (auto _ : state) {
        BasicPitchStream stream(*model(), static_cast<int>(state.range(0)));
        stream.push(audio);
        benchmark::DoNotOptimize(stream.finish());
    }
    report_real_time(state, 60.0);
}
BENCHMARK(BM_BasicPitchActivations60s)->Arg(1)->Arg(4)->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_BasicPitchNoteDecoding60s(benchmark::State& state) {
    if (!model()) return state.SkipWithError("basic-pitch model not installed");
    const auto activations = basic_pitch_activations(*model(), sixty_seconds_of_music());
    for (auto _ : state) {
        auto events = output_to_notes_poly(activations.frames, activations.onsets);
        add_pitch_bends(activations.contours, events);
        benchmark::DoNotOptimize(note_events_to_notes(events));
    }
    report_real_time(state, 60.0);
}
BENCHMARK(BM_BasicPitchNoteDecoding60s)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
