#include "kanade/model/cpu_features.hpp"
#include "kanade/model/network.hpp"
#include "kanade/model/packed_matrix.hpp"

#include <doctest/doctest.h>

using namespace kanade::model;

namespace {

Network random_network(const std::string& arch, const std::string& activation = "relu") {
    NetworkConfig config;
    config.arch = arch;
    config.activation = activation;
    config.vocab_size = 41;
    config.hidden = 48;
    config.embedding = 10;
    Network network(config);
    // Larger weights than the initialisation, so the gates leave their linear region.
    torch::NoGradGuard no_grad;
    for (auto& parameter : network->parameters()) parameter.normal_(0.0, 0.4);
    network->eval();
    return network;
}

double max_difference(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

}  // namespace

TEST_CASE("packed CPU inference equals the libtorch modules: whole windows, last positions, batches") {
    for (auto [arch, activation] :
         {std::pair{"seed", "relu"}, std::pair{"seed", "tanh"}, std::pair{"kanade", "relu"}}) {
        CAPTURE(arch);
        CAPTURE(activation);
        torch::manual_seed(3);
        auto network = random_network(arch, activation);
        torch::NoGradGuard no_grad;
        // 17 rows: a later layer's input product runs a step at a time (stepwise_input_rows).
        for (std::int64_t batch : {1, 5, 17}) {
            auto ids = torch::randint(0, 41, {batch, 40}, torch::kInt64);
            network->set_packed_inference(false);
            auto reference = network->forward(ids);
            auto reference_last = network->forward_last(ids);
            network->set_packed_inference(true);
            auto packed = network->forward(ids);
            auto packed_last = network->forward_last(ids);
            REQUIRE(packed.sizes() == reference.sizes());
            REQUIRE(packed_last.sizes() == torch::IntArrayRef({batch, 41}));
            CHECK(max_difference(packed, reference) < 1e-5);
            CHECK(max_difference(packed_last, reference_last) < 1e-5);
            CHECK(max_difference(packed_last, reference.select(1, 39)) < 1e-5);
        }
    }
}

TEST_CASE("the two-thread window equals the modules, at any batch") {
    for (auto [arch, activation] : {std::pair{"seed", "relu"}, std::pair{"kanade", "relu"}}) {
        CAPTURE(arch);
        torch::manual_seed(4);
        auto network = random_network(arch, activation);
        torch::NoGradGuard no_grad;
        network->set_inference_threads(2);
        for (std::int64_t batch : {1, 3, 4, 6, 17}) {
            CAPTURE(batch);
            auto ids = torch::randint(0, 41, {batch, 40}, torch::kInt64);
            network->set_packed_inference(false);
            auto reference = network->forward(ids);
            network->set_packed_inference(true);
            // Repeated: each window reuses the team's buffers and its helper thread.
            for (int repeat = 0; repeat < 3; ++repeat) {
                CHECK(max_difference(network->forward_last(ids), reference.select(1, 39)) < 1e-5);
                CHECK(max_difference(network->forward(ids), reference) < 1e-5);
            }
        }
        for (auto precision : {InferencePrecision::float16, InferencePrecision::bfloat16, InferencePrecision::int8}) {
            if (supported_precision(precision) != precision) continue;
            CAPTURE(precision_name(precision));
            network->set_inference_precision(precision);
            for (std::int64_t batch : {1, 17}) {
                CAPTURE(batch);
                auto ids = torch::randint(0, 41, {batch, 40}, torch::kInt64);
                network->set_inference_threads(1);
                auto alone = network->forward_last(ids);
                network->set_inference_threads(2);
                CHECK(max_difference(network->forward_last(ids), alone) < 1e-5);
            }
            network->set_inference_precision(InferencePrecision::float32);
        }
    }
}

TEST_CASE("packed streaming steps equal the modules' steps, state carried across calls") {
    for (const char* arch : {"seed", "kanade"}) {
        CAPTURE(arch);
        torch::manual_seed(5);
        auto network = random_network(arch);
        torch::NoGradGuard no_grad;
        auto ids = torch::randint(0, 41, {4, 25}, torch::kInt64);
        auto packed_state = network->initial_state(4), module_state = network->initial_state(4);
        for (int t = 0; t < 25; ++t) {
            network->set_packed_inference(true);
            auto kept_h = packed_state.h[0];
            auto packed = network->step(ids.select(1, t), packed_state);
            CHECK(kept_h.data_ptr() != packed_state.h[0].data_ptr());  // a held old state stays as it was
            network->set_packed_inference(false);
            auto reference = network->step(ids.select(1, t), module_state);
            CHECK(max_difference(packed, reference) < 1e-5);
            for (std::size_t layer = 0; layer < packed_state.h.size(); ++layer) {
                CHECK(max_difference(packed_state.h[layer], module_state.h[layer]) < 1e-5);
                CHECK(max_difference(packed_state.c[layer], module_state.c[layer]) < 1e-5);
            }
        }
    }
}

TEST_CASE("changed weights are repacked, training and gradients use the modules") {
    torch::manual_seed(9);
    auto network = random_network("kanade");
    auto ids = torch::randint(0, 41, {2, 12}, torch::kInt64);
    torch::Tensor before;
    {
        torch::NoGradGuard no_grad;
        before = network->forward_last(ids);
        network->named_parameters()["dense.bias"].add_(1.0);  // as an optimiser step would
        auto after = network->forward_last(ids);
        CHECK(max_difference(after, before + 1.0) < 1e-5);
    }
    // With gradients on, the result must carry them (the packed path has none).
    auto with_grad = network->forward(ids);
    CHECK(with_grad.requires_grad());
    network->train();
    torch::NoGradGuard no_grad;
    CHECK(network->is_training());
    auto training = network->forward(ids);  // dropout on: must not go through the packed path
    CHECK(training.sizes() == torch::IntArrayRef({2, 12, 41}));
}

TEST_CASE("packed inference refuses ids outside the vocabulary") {
    auto network = random_network("seed");
    torch::NoGradGuard no_grad;
    CHECK_THROWS_AS(network->forward_last(torch::tensor({{1, 2, 41}}, torch::kInt64)), std::out_of_range);
    CHECK_THROWS_AS(network->forward_last(torch::tensor({{-1, 2}}, torch::kInt64)), std::out_of_range);
    auto state = network->initial_state(1);
    CHECK_THROWS_AS(network->step(torch::tensor({99}, torch::kInt64), state), std::out_of_range);
}

TEST_CASE("float16, bfloat16 and int8 stay within their rounding of float32, where the CPU can do them") {
    // Relative to the largest logit: float16 rounds the weights (11 significant bits),
    // bfloat16 the weights and each product's input (8 bits), int8 both to 255 steps.
    for (auto [precision, tolerance] :
         {std::pair{InferencePrecision::float16, 2e-3}, std::pair{InferencePrecision::bfloat16, 3e-2},
          std::pair{InferencePrecision::int8, 3e-2}}) {
        CAPTURE(precision_name(precision));
        for (const char* arch : {"seed", "kanade"}) {
            CAPTURE(arch);
            torch::manual_seed(11);
            auto network = random_network(arch);
            torch::NoGradGuard no_grad;
            auto ids = torch::randint(0, 41, {2, 40}, torch::kInt64);
            auto exact = network->forward_last(ids);
            network->set_inference_precision(precision);
            auto narrow = network->forward_last(ids);
            CHECK(network->inference_precision() == supported_precision(precision));
            if (supported_precision(precision) != precision) continue;
            const double scale = exact.abs().max().item<double>();
            CHECK(max_difference(narrow, exact) < tolerance * scale);
            CHECK(max_difference(narrow, exact) > 0);  // it really ran on the narrower copy

            auto state = network->initial_state(2);
            auto stepped = network->step(ids.select(1, 0), state);
            network->set_inference_precision(InferencePrecision::float32);
            auto exact_state = network->initial_state(2);
            auto exact_step = network->step(ids.select(1, 0), exact_state);
            CHECK(max_difference(stepped, exact_step) < tolerance * exact_step.abs().max().item<double>());
        }
    }
}

TEST_CASE("packed inference on the AVX2 and the plain C++ kernels equals the modules too") {
    torch::manual_seed(12);
    auto network = random_network("seed");
    torch::NoGradGuard no_grad;
    auto ids = torch::randint(0, 41, {3, 40}, torch::kInt64);
    network->set_packed_inference(false);
    auto reference = network->forward_last(ids);
    network->set_packed_inference(true);
    const auto detected = all_detected();
    CpuFeatures avx2 = detected;
    avx2.avx512f = avx2.avx512_bf16 = false;
    for (const auto& allowed : {avx2, CpuFeatures{}}) {
        restrict_cpu_features(allowed);
        CAPTURE(describe(cpu_features()));
        // float32's packed layout is the same for every kernel, chosen at each call.
        CHECK(max_difference(network->forward_last(ids), reference) < 1e-5);
        network->set_inference_precision(InferencePrecision::bfloat16);  // falls back where these kernels lack it
        CHECK(network->inference_precision() == supported_precision(InferencePrecision::bfloat16));
        CHECK(max_difference(network->forward_last(ids), reference) < 3e-2 * reference.abs().max().item<double>());
        network->set_inference_precision(InferencePrecision::float32);
    }
    restrict_cpu_features(detected);
}

TEST_CASE("int8 inference on the plain C++ kernels equals the widest ones, windows and steps") {
    torch::manual_seed(13);
    for (std::string arch : {"seed", "kanade"}) {
        CAPTURE(arch);
        auto network = random_network(arch);
        torch::NoGradGuard no_grad;
        network->set_inference_precision(InferencePrecision::int8);
        CHECK(network->inference_precision() == InferencePrecision::int8);
        // 17 rows: 16 in AMX tiles where the CPU has them, one by the vector kernel.
        auto ids = torch::randint(0, 41, {17, 40}, torch::kInt64);
        auto state = network->initial_state(17);
        const auto widest = network->forward_last(ids);
        const auto widest_step = network->step(ids.select(1, 0), state);
        const auto detected = all_detected();
        restrict_cpu_features(CpuFeatures{});
        auto plain_state = network->initial_state(17);
        const auto plain = network->forward_last(ids);
        const auto plain_step = network->step(ids.select(1, 0), plain_state);
        restrict_cpu_features(detected);
        // The int8 products are the same on both (test_packed_matrix); the float32 output
        // layer sums with FMA on one and not the other, and a hidden state that differs
        // in its last bit may round one input byte the other way.
        CHECK(max_difference(widest, plain) < 1e-5 * widest.abs().max().item<double>());
        CHECK(max_difference(widest_step, plain_step) < 1e-5 * widest_step.abs().max().item<double>());
    }
}

TEST_CASE("a conditioned network: packed windows and steps equal the modules, and conditions change the output") {
    NetworkConfig config;
    config.vocab_size = 41;
    config.hidden = 48;
    config.embedding = 10;
    config.meter_input = config.control_input = true;
    config.styles = 3;
    torch::manual_seed(11);
    Network network(config);
    torch::NoGradGuard no_grad;
    for (auto& parameter : network->parameters()) parameter.normal_(0.0, 0.4);
    network->eval();
    const auto rows = condition_rows(config);
    auto ids = torch::randint(0, 41, {3, 20}, torch::kInt64);
    auto conditions = torch::zeros({3, 20, 5}, torch::kUInt8);
    for (std::int64_t c = 0; c < 5; ++c)
        conditions.select(2, c).copy_(torch::randint(0, rows[static_cast<std::size_t>(c)], {3, 20}, torch::kInt64));
    network->set_packed_inference(false);
    auto reference = network->forward(ids, conditions);
    auto unconditioned = network->forward(ids);
    network->set_packed_inference(true);
    CHECK(max_difference(network->forward(ids, conditions), reference) < 1e-5);
    CHECK(max_difference(network->forward_last(ids, conditions), reference.select(1, 19)) < 1e-5);
    CHECK(max_difference(reference, unconditioned) > 1e-2);  // the conditions are heard
    // Two threads: the first layer's rows, the token's and the conditions', gathered;
    // without conditions they are read from the token table in place.
    network->set_inference_threads(2);
    CHECK(max_difference(network->forward(ids, conditions), reference) < 1e-5);
    CHECK(max_difference(network->forward(ids), unconditioned) < 1e-5);
    network->set_inference_threads(1);
    auto state = network->initial_state(3);
    for (std::int64_t t = 0; t < 20; ++t) {
        auto logits = network->step(ids.select(1, t), state, conditions.select(1, t));
        CHECK(max_difference(logits, reference.select(1, t)) < 1e-5);
    }
    CHECK(parameter_count(config) == network->parameter_count());
}
