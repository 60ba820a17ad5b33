#include "kanade/model/network.hpp"

#include <doctest/doctest.h>

using namespace kanade::model;

TEST_CASE("the seed network has exactly the student project's 3,307,311 parameters") {
    NetworkConfig config;
    config.arch = "seed";
    config.vocab_size = 303;
    Network network(config);
    CHECK(network->parameter_count() == 3'307'311);
    auto parameters = describe_parameters(network);
    std::int64_t lstm1 = 0, lstm2 = 0, dense = 0;
    for (const auto& p : parameters) {
        if (p.name.rfind("lstm1.", 0) == 0) lstm1 += p.count;
        if (p.name.rfind("lstm2.", 0) == 0) lstm2 += p.count;
        if (p.name.rfind("dense.", 0) == 0) dense += p.count;
    }
    CHECK(lstm1 == 1'052'672);
    CHECK(lstm2 == 2'099'200);
    CHECK(dense == 155'439);
}

TEST_CASE("networks predict at every position") {
    for (const char* arch : {"seed", "kanade"}) {
        CAPTURE(arch);
        NetworkConfig config;
        config.arch = arch;
        config.vocab_size = 17;
        config.hidden = 24;
        config.embedding = 8;
        Network network(config);
        auto ids = torch::randint(0, 17, {3, 11}, torch::kInt64);
        auto logits = network->forward(ids);
        CHECK(logits.sizes() == torch::IntArrayRef({3, 11, 17}));
    }
}

TEST_CASE("streaming steps give the same predictions as the whole sequence") {
    for (const char* arch : {"seed", "kanade"}) {
        CAPTURE(arch);
        torch::manual_seed(7);
        NetworkConfig config;
        config.arch = arch;
        config.vocab_size = 29;
        config.hidden = 32;
        config.embedding = 12;
        Network network(config);
        network->eval();
        torch::NoGradGuard no_grad;
        auto ids = torch::randint(0, 29, {2, 9}, torch::kInt64);
        auto whole = network->forward(ids);
        auto state = network->initial_state(2);
        for (int t = 0; t < 9; ++t) {
            auto stepped = network->step(ids.select(1, t), state);
            CHECK(torch::allclose(stepped, whole.select(1, t), 1e-4, 1e-5));
        }
    }
}

TEST_CASE("bad hyper-parameters are refused by name") {
    NetworkConfig config;
    config.vocab_size = 10;
    config.arch = "transformer";
    CHECK_THROWS_WITH_AS(config.validate(), doctest::Contains("transformer"), std::invalid_argument);
    config.arch = "seed";
    config.layers = 3;
    CHECK_THROWS_WITH_AS(config.validate(), doctest::Contains("2 layers"), std::invalid_argument);
    config.layers = 2;
    config.dropout = 1.5;
    CHECK_THROWS_WITH_AS(config.validate(), doctest::Contains("dropout"), std::invalid_argument);
}

TEST_CASE("a copy on the CPU predicts as the original and owns its weights") {
    torch::manual_seed(8);
    NetworkConfig config;
    config.vocab_size = 17;
    config.hidden = 24;
    config.embedding = 8;
    Network network(config);
    network->eval();
    network->set_inference_precision(InferencePrecision::bfloat16);
    network->set_inference_threads(2);
    auto copy = copy_on_cpu(network);
    CHECK_FALSE(copy->is_training());
    CHECK(copy->asked_inference_precision() == InferencePrecision::bfloat16);
    CHECK(copy->inference_threads() == 2);
    torch::NoGradGuard no_grad;
    const auto ids = torch::randint(0, 17, {2, 9}, torch::kInt64);
    CHECK(torch::equal(copy->forward(ids), network->forward(ids)));
    // What happens to the original's weights (a GPU lost with them) leaves the copy's alone.
    for (auto& parameter : network->parameters()) parameter.zero_();
    CHECK_FALSE(torch::equal(copy->forward(ids), network->forward(ids)));
    CHECK(copy->forward(ids).abs().sum().item<float>() > 0);
}
