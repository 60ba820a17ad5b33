// The networks on a CUDA GPU: the same predictions as on the CPU, the faithful step
// recorded as a CUDA graph the same as run kernel by kernel, mixed-precision training.
// Skipped without a GPU (CI has none); bench/gpu-record.sh runs them on a GPU machine.
#include "kanade/model/cuda_autocast.hpp"
#include "kanade/model/cuda_graph_step.hpp"
#include "kanade/model/network.hpp"
#include "skip.hpp"

#include <doctest/doctest.h>

using namespace kanade::model;

namespace {

bool have_cuda() {
    if (torch::cuda::is_available()) return true;
    kanade::test::skip("cuda", "libtorch sees no CUDA GPU");
    return false;
}

bool have_cuda_graphs() {
    if (!have_cuda()) return false;
    if (CudaGraphStep::available()) return true;
    kanade::test::skip("cuda-graphs", "this build's libtorch has no CUDA");
    return false;
}

Network small_network(const char* arch) {
    NetworkConfig config;
    config.arch = arch;
    config.vocab_size = 61;
    config.hidden = 96;
    config.embedding = 16;
    Network network(config);
    network->eval();
    return network;
}

// Largest difference of the softmax probabilities: cuDNN may use TF32 for the products,
// which moves logits by about 1e-3 of their size.
double probability_difference(const torch::Tensor& a, const torch::Tensor& b) {
    return (a.to(torch::kCPU).softmax(-1) - b.to(torch::kCPU).softmax(-1)).abs().max().item<double>();
}

}  // namespace

TEST_CASE("on a CUDA GPU the networks predict what they predict on the CPU") {
    if (!have_cuda()) return;
    torch::manual_seed(7);
    torch::NoGradGuard no_grad;
    for (const char* arch : {"seed", "kanade"}) {
        CAPTURE(arch);
        auto network = small_network(arch);
        auto ids = torch::randint(0, 61, {5, 40}, torch::kInt64);
        const auto on_cpu = network->forward_last(ids);
        network->to(torch::kCUDA);
        const auto on_gpu = network->forward_last(ids.to(torch::kCUDA));
        CHECK(on_gpu.device().is_cuda());
        CHECK(probability_difference(on_cpu, on_gpu) < 1e-2);
        // Streaming steps too.
        auto state = network->initial_state(5);
        auto step_logits = network->step(ids.select(1, 0).to(torch::kCUDA), state);
        CHECK(step_logits.sizes() == torch::IntArrayRef({5, 61}));
    }
}

TEST_CASE("a faithful step recorded as a CUDA graph gives the step run kernel by kernel") {
    if (!have_cuda_graphs()) return;
    torch::manual_seed(11);
    torch::NoGradGuard no_grad;
    for (const char* arch : {"seed", "kanade"}) {
        CAPTURE(arch);
        auto network = small_network(arch);
        network->to(torch::kCUDA);
        CudaGraphStep graph(network, 3, 40);
        // Replayed on new inputs each time: the graph reads its input where it was recorded.
        for (int round = 0; round < 3; ++round) {
            auto ids = torch::randint(0, 61, {3, 40}, torch::kInt64);
            const auto replayed = graph.last_logits(ids).clone();
            const auto direct = network->forward_last(ids.to(torch::kCUDA)).to(torch::kCPU);
            CHECK((replayed - direct).abs().max().item<double>() < 1e-4);
        }
        CHECK_THROWS_AS(graph.last_logits(torch::zeros({2, 40}, torch::kInt64)), std::invalid_argument);
    }
}

TEST_CASE("without a CUDA libtorch a CUDA graph step says why it cannot be recorded") {
    if (CudaGraphStep::available()) {
        kanade::test::skip("no-cuda-graphs", "this build's libtorch has CUDA");
        return;
    }
    auto network = small_network("seed");
    CHECK_THROWS_WITH_AS(CudaGraphStep(network, 1, 40), doctest::Contains("built with CUDA"), std::runtime_error);
}

TEST_CASE("on CUDA mixed-precision training learns a repeating phrase as float32 training does") {
    if (!have_cuda()) return;
    // Eight tokens over and over: both ways must learn to predict the next one.
    const auto phrase = torch::arange(0, 8, torch::kInt64).repeat({8, 6}).to(torch::kCUDA);  // [8, 48]
    const auto inputs = phrase.slice(1, 0, 40), targets = phrase.slice(1, 1, 41);
    for (bool mixed : {false, true}) {
        CAPTURE(mixed);
        torch::manual_seed(3);
        auto network = small_network("kanade");
        network->train();
        network->to(torch::kCUDA);
        torch::optim::Adam optimizer(network->parameters(), torch::optim::AdamOptions(1e-2));
        double first = 0, last = 0;
        for (int step = 0; step < 150; ++step) {
            torch::Tensor loss;
            {
                CudaAutocast autocast(mixed);
                auto logits = network->forward(inputs);
                if (mixed) CHECK((logits.scalar_type() == torch::kBFloat16));
                loss = torch::nn::functional::cross_entropy(logits.reshape({-1, 61}).to(torch::kFloat32),
                                                            targets.reshape({-1}));
            }
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            last = loss.item<double>();
            if (step == 0) first = last;
        }
        CHECK(last < 0.2 * first);
        for (const auto& parameter : network->parameters()) CHECK((parameter.scalar_type() == torch::kFloat32));
    }
}

TEST_CASE("mixed precision leaves the CPU's arithmetic in float32") {
    torch::manual_seed(5);
    torch::NoGradGuard no_grad;
    auto network = small_network("kanade");
    network->set_packed_inference(false);
    auto ids = torch::randint(0, 61, {2, 40}, torch::kInt64);
    const auto plain = network->forward(ids);
    torch::Tensor within;
    {
        CudaAutocast autocast(true);
        within = network->forward(ids);
    }
    CHECK((within.scalar_type() == torch::kFloat32));
    CHECK(torch::equal(plain, within));
}

TEST_CASE("a CUDA graph cache leaves a network on the CPU to run itself") {
    auto network = small_network("seed");
    CudaGraphCache cache;
    CHECK_FALSE(cache.last_logits(network, 40, torch::zeros({2, 40}, torch::kInt64), {}).defined());
    CHECK(cache.error().empty());
}

TEST_CASE("on CUDA a CUDA graph cache replays full windows and leaves shorter ones") {
    if (!have_cuda_graphs()) return;
    torch::manual_seed(13);
    torch::NoGradGuard no_grad;
    auto network = small_network("kanade");
    network->to(torch::kCUDA);
    CudaGraphCache cache;
    for (std::int64_t batch : {1, 4, 1}) {
        CAPTURE(batch);
        auto ids = torch::randint(0, 61, {batch, 40}, torch::kInt64);
        const auto replayed = cache.last_logits(network, 40, ids, {});
        REQUIRE(replayed.defined());
        const auto direct = network->forward_last(ids.to(torch::kCUDA)).to(torch::kCPU);
        CHECK((replayed - direct).abs().max().item<double>() < 1e-4);
    }
    CHECK(cache.error().empty());
    CHECK_FALSE(cache.last_logits(network, 40, torch::zeros({2, 12}, torch::kInt64), {}).defined());
}

TEST_CASE("on CUDA a conditioned network's recorded step reads each window's conditions") {
    if (!have_cuda_graphs()) return;
    torch::manual_seed(17);
    torch::NoGradGuard no_grad;
    NetworkConfig config;
    config.arch = "kanade";
    config.vocab_size = 61;
    config.hidden = 64;
    config.embedding = 16;
    config.meter_input = true;
    Network network(config);
    network->eval();
    network->to(torch::kCUDA);
    CudaGraphStep graph(network, 2, 40, true);
    for (int round = 0; round < 2; ++round) {
        auto ids = torch::randint(0, 61, {2, 40}, torch::kInt64);
        // Meter conditions only (the others 0, "not said"): step in beat 1-4, beat in bar 1-4.
        auto conditions =
            torch::zeros({2, 40, static_cast<std::int64_t>(kanade::music::condition_count)}, torch::kUInt8);
        conditions.select(2, 0).copy_(torch::randint(1, 5, {2, 40}, torch::kInt64));
        conditions.select(2, 1).copy_(torch::randint(1, 5, {2, 40}, torch::kInt64));
        const auto replayed = graph.last_logits(ids, conditions).clone();
        const auto direct = network->forward_last(ids.to(torch::kCUDA), conditions.to(torch::kCUDA)).to(torch::kCPU);
        CHECK((replayed - direct).abs().max().item<double>() < 1e-4);
    }
}
