#include "kanade/engine/sampler.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <numeric>

using namespace kanade::engine;

TEST_CASE("temperature 0 is argmax, as the student generator did") {
    Sampler sampler(3);
    std::vector<float> logits = {0.1f, 2.0f, 1.9f, -1.0f};
    for (int i = 0; i < 50; ++i) CHECK(sampler.sample(logits, {0.0, 0, 1.0}) == 1);
}

TEST_CASE("temperature changes the distribution and sampling follows it") {
    Sampler sampler(11);
    std::vector<float> logits = {0.0f, 1.0f, 2.0f};
    auto warm = sampler.distribution(logits, {1.0, 0, 1.0});
    auto cold = sampler.distribution(logits, {0.5, 0, 1.0});
    CHECK(std::accumulate(warm.begin(), warm.end(), 0.0) == doctest::Approx(1.0));
    double z = 1 + std::exp(1.0) + std::exp(2.0);
    CHECK(warm[2] == doctest::Approx(std::exp(2.0) / z));
    CHECK(cold[2] > warm[2]);

    std::vector<int> counts(3, 0);
    const int draws = 20000;
    for (int i = 0; i < draws; ++i) ++counts[static_cast<std::size_t>(sampler.sample(logits, {1.0, 0, 1.0}))];
    for (std::size_t i = 0; i < 3; ++i) CHECK(counts[i] / double(draws) == doctest::Approx(warm[i]).epsilon(0.05));
}

TEST_CASE("top-k and top-p cut the tail") {
    Sampler sampler(5);
    std::vector<float> logits = {3.0f, 2.0f, 1.0f, 0.0f, -1.0f};
    auto top2 = sampler.distribution(logits, {1.0, 2, 1.0});
    CHECK(top2[0] > 0);
    CHECK(top2[1] > 0);
    CHECK(top2[2] == 0);
    CHECK(top2[0] + top2[1] == doctest::Approx(1.0));
    auto nucleus = sampler.distribution(logits, {1.0, 0, 0.5});
    CHECK(nucleus[0] == doctest::Approx(1.0));  // the first token alone holds over half the mass
    auto wider = sampler.distribution(logits, {1.0, 0, 0.9});
    CHECK(wider[1] > 0);
    CHECK(wider[4] == 0);
    for (int i = 0; i < 200; ++i) CHECK(sampler.sample(logits, {1.0, 2, 1.0}) < 2);
}

TEST_CASE("masked tokens are never drawn") {
    Sampler sampler(9);
    std::vector<float> logits = {5.0f, 0.0f, 0.0f};
    bool mask[] = {false, true, true};
    for (int i = 0; i < 200; ++i) CHECK(sampler.sample(logits, {1.0, 0, 1.0}, mask) != 0);
    bool none[] = {false, false, false};
    CHECK(sampler.sample(logits, {1.0, 0, 1.0}, none) == -1);
}
