// piano-crnn speed: one 10 s segment through the network (random weights: the time does
// not depend on their values), reported as multiples of real time for the 5 s of new
// audio each overlapping segment adds. Arg: 1 with the pedal model, 0 without.
#include "kanade/transcribe/piano_crnn_model.hpp"
#include "kanade/transcribe/piano_crnn_transcriber.hpp"

#include <benchmark/benchmark.h>

#include <cmath>
#include <numbers>

using namespace kanade::transcribe;

namespace {

void BM_PianoCrnnSegment(benchmark::State& state) {
    PianoCrnnModel model(/*with_pedal=*/state.range(0) != 0);
    const auto t = torch::arange(piano_crnn::segment_samples, torch::kFloat32) / piano_crnn::sample_rate;
    const auto audio = (0.3 * torch::sin(2 * std::numbers::pi * 440.0 * t)).reshape({1, -1});
    for (auto _ : state) benchmark::DoNotOptimize(model.forward(audio));
    const double new_seconds = static_cast<double>(piano_crnn::segment_hop) / piano_crnn::sample_rate;
    state.counters["x_real_time"] =
        benchmark::Counter(new_seconds * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PianoCrnnSegment)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(5.0);

}  // namespace
