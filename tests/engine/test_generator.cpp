#include "kanade/engine/generator.hpp"
#include "kanade/music/kanade_tokenizer.hpp"

#include <doctest/doctest.h>

using namespace kanade;

namespace {

model::Model random_model(int window) {
    torch::manual_seed(3);
    model::Model model;
    model.vocabulary = *music::KanadeTokenizer().fixed_vocabulary();
    model.config.vocab_size = static_cast<int>(model.vocabulary.size());
    model.config.hidden = 24;
    model.config.embedding = 8;
    model.config.window = window;
    model.network = model::Network(model.config);
    return model;
}

}  // namespace

TEST_CASE("faithful and streaming inference agree while the context fits the window") {
    auto model = random_model(32);
    engine::GenerateOptions options;
    options.steps = 20;
    options.sampling.temperature = 0;
    options.mode = engine::InferenceMode::faithful;
    auto faithful = engine::generate(model, {5, 17, 40}, options, torch::kCPU);
    options.mode = engine::InferenceMode::streaming;
    auto streaming = engine::generate(model, {5, 17, 40}, options, torch::kCPU);
    CHECK(faithful.size() == 20);
    CHECK(faithful == streaming);
    // The faithful window's recurrence on two threads (model.threads >= 2) plays the same.
    model.network->set_inference_threads(2);
    options.mode = engine::InferenceMode::faithful;
    CHECK(engine::generate(model, {5, 17, 40}, options, torch::kCPU) == faithful);
}

TEST_CASE("generation is reproducible for a seed and varies with it") {
    auto model = random_model(8);
    engine::GenerateOptions options;
    options.steps = 40;
    options.sampling.temperature = 1.5;
    auto a = engine::generate(model, {1, 2, 3}, options, torch::kCPU);
    auto b = engine::generate(model, {1, 2, 3}, options, torch::kCPU);
    options.seed = 2;
    auto c = engine::generate(model, {1, 2, 3}, options, torch::kCPU);
    CHECK(a == b);
    CHECK(a != c);
    for (int id : a) CHECK((id >= 0 && id < model.config.vocab_size));
    CHECK_THROWS(engine::generate(model, {}, options, torch::kCPU));
}
