// Google Benchmark micro-benchmarks of one inference step, on networks of the shipped
// models' shapes with random weights (no model file needed): the packed CPU path
// against libtorch's modules, and the small-batch product against BLAS.
//   build/bench/kanade_micro_bench --benchmark_filter=Faithful
#include "kanade/model/network.hpp"
#include "kanade/model/small_batch_gemm.hpp"

#include <benchmark/benchmark.h>

namespace {

using namespace kanade::model;

NetworkConfig shipped_shape(const std::string& arch) {
    NetworkConfig config;
    config.arch = arch;
    if (arch == "seed") {
        config.vocab_size = 1194, config.hidden = 512, config.window = 40;
    } else {
        config.vocab_size = 124, config.hidden = 256, config.embedding = 64, config.window = 64;
    }
    return config;
}

enum Path { modules, packed32, packed16 };

void configure(Network& network, Path path) {
    network->eval();
    network->set_packed_inference(path != modules);
    network->set_inference_precision(path == packed16 ? InferencePrecision::float16 : InferencePrecision::float32);
}

void faithful_step(benchmark::State& state, const std::string& arch, Path path) {
    torch::NoGradGuard no_grad;
    auto config = shipped_shape(arch);
    Network network(config);
    configure(network, path);
    auto ids = torch::randint(0, config.vocab_size, {state.range(0), config.window}, torch::kInt64);
    for (auto _ : state) benchmark::DoNotOptimize(network->forward_last(ids));
}

void streaming_step(benchmark::State& state, const std::string& arch, Path path) {
    torch::NoGradGuard no_grad;
    auto config = shipped_shape(arch);
    Network network(config);
    configure(network, path);
    auto recurrent = network->initial_state(state.range(0));
    auto ids = torch::randint(0, config.vocab_size, {state.range(0)}, torch::kInt64);
    for (auto _ : state) benchmark::DoNotOptimize(network->step(ids, recurrent));
}

void small_batch_product(benchmark::State& state, bool blas) {
    const std::int64_t batch = state.range(0), in = 512, out = 2048;
    auto x = torch::randn({batch, in}), w = torch::randn({in, out}), y = torch::zeros({batch, out});
    for (auto _ : state) {
        if (blas)
            y.addmm_(x, w);
        else
            small_batch_gemm_accumulate(x.data_ptr<float>(), w.data_ptr<float>(), y.data_ptr<float>(), batch, in, out);
        benchmark::ClobberMemory();
    }
}

}  // namespace

BENCHMARK_CAPTURE(faithful_step, seed_modules, std::string("seed"), modules)->Arg(1)->Arg(8)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(faithful_step, seed_packed, std::string("seed"), packed32)->Arg(1)->Arg(8)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(faithful_step, seed_packed_half, std::string("seed"), packed16)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(faithful_step, kanade_modules, std::string("kanade"), modules)->Arg(1)->Arg(8)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(faithful_step, kanade_packed, std::string("kanade"), packed32)->Arg(1)->Arg(8)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(faithful_step, kanade_packed_half, std::string("kanade"), packed16)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(streaming_step, seed_modules, std::string("seed"), modules)->Arg(1)->Arg(64)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(streaming_step, seed_packed, std::string("seed"), packed32)->Arg(1)->Arg(64)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(streaming_step, seed_packed_half, std::string("seed"), packed16)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(streaming_step, kanade_modules, std::string("kanade"), modules)->Arg(1)->Arg(64)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(streaming_step, kanade_packed, std::string("kanade"), packed32)->Arg(1)->Arg(64)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(small_batch_product, blas, true)->Arg(1)->Arg(4)->Arg(8)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(small_batch_product, avx2_loop, false)->Arg(1)->Arg(4)->Arg(8)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
