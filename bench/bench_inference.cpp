// Google Benchmark micro-benchmarks of one inference step, on networks of the shipped
// models' shapes with random weights (no model file needed): the packed CPU path
// against libtorch's modules, and the packed few-row product (PackedMatrix) against BLAS.
//   build/bench/kanade_micro_bench --benchmark_filter=Faithful
#include "kanade/model/network.hpp"
#include "kanade/model/packed_matrix.hpp"

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

enum Path { modules, packed32, packed16, packedbf16, packedint8 };

void configure(Network& network, Path path) {
    network->eval();
    network->set_packed_inference(path != modules);
    network->set_inference_precision(path == packed16     ? InferencePrecision::float16
                                     : path == packedbf16 ? InferencePrecision::bfloat16
                                     : path == packedint8 ? InferencePrecision::int8
                                                          : InferencePrecision::float32);
}

void faithful_step(benchmark::State& state, const std::string& arch, Path path, int threads = 1) {
    torch::NoGradGuard no_grad;
    auto config = shipped_shape(arch);
    Network network(config);
    configure(network, path);
    network->set_inference_threads(threads);
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

// y[B, 2048] += x[B, 512] @ w: one recurrent product of the seed network.
void recurrent_product(benchmark::State& state, const std::string& how) {
    const std::int64_t batch = state.range(0), in = 512, out = 2048;
    auto x = torch::randn({batch, in}), w = torch::randn({in, out}), y = torch::zeros({batch, out});
    const bool blas = how == "blas";
    const auto precision = supported_precision(blas ? InferencePrecision::float32 : parse_inference_precision(how));
    if (!blas && precision_name(precision) != how) {
        state.SkipWithError((how + ": not on this CPU").c_str());
        return;
    }
    const PackedMatrix packed(w, precision);
    for (auto _ : state) {
        if (blas)
            y.addmm_(x, w);
        else
            packed.accumulate(x, y);
        benchmark::ClobberMemory();
    }
}

// The batches every product row is timed at: one session up to the batched mode's 256.
void product_batches(benchmark::internal::Benchmark* row) {
    for (int batch : {1, 4, 8, 16, 40, 64, 256}) row->Arg(batch);
}

}  // namespace

BENCHMARK_CAPTURE(faithful_step, seed_modules, std::string("seed"), modules)
    ->Arg(1)
    ->Arg(8)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(faithful_step, seed_packed, std::string("seed"), packed32)
    ->Arg(1)
    ->Arg(8)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(faithful_step, seed_packed_half, std::string("seed"), packed16)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(faithful_step, seed_packed_bfloat16, std::string("seed"), packedbf16)
    ->Arg(1)
    ->Arg(8)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(faithful_step, seed_packed_int8, std::string("seed"), packedint8)
    ->Arg(1)
    ->Arg(8)
    ->Arg(64)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(faithful_step, seed_packed_int8_two_threads, std::string("seed"), packedint8, 2)
    ->Arg(64)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(faithful_step, kanade_modules, std::string("kanade"), modules)
    ->Arg(1)
    ->Arg(8)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(faithful_step, kanade_packed, std::string("kanade"), packed32)
    ->Arg(1)
    ->Arg(8)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(faithful_step, kanade_packed_half, std::string("kanade"), packed16)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(streaming_step, seed_modules, std::string("seed"), modules)
    ->Arg(1)
    ->Arg(64)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(streaming_step, seed_packed, std::string("seed"), packed32)
    ->Arg(1)
    ->Arg(64)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(streaming_step, seed_packed_half, std::string("seed"), packed16)
    ->Arg(1)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(streaming_step, seed_packed_bfloat16, std::string("seed"), packedbf16)
    ->Arg(1)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(streaming_step, kanade_modules, std::string("kanade"), modules)
    ->Arg(1)
    ->Arg(64)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(streaming_step, kanade_packed, std::string("kanade"), packed32)
    ->Arg(1)
    ->Arg(64)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(recurrent_product, blas, std::string("blas"))->Apply(product_batches)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(recurrent_product, packed_float32, std::string("float32"))
    ->Apply(product_batches)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(recurrent_product, packed_float16, std::string("float16"))
    ->Apply(product_batches)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(recurrent_product, packed_bfloat16, std::string("bfloat16"))
    ->Apply(product_batches)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(recurrent_product, packed_int8, std::string("int8"))
    ->Apply(product_batches)
    ->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
