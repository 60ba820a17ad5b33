// An untrained kanade-token network for the engine's tests: small, seeded, the same on
// every machine (libtorch's CPU initialisation is deterministic for a seed).
#pragma once

#include "kanade/model/model_file.hpp"
#include "kanade/music/kanade_tokenizer.hpp"

#include <memory>

namespace kanade::test {

inline std::shared_ptr<model::Model> random_model(std::uint64_t seed, int hidden) {
    torch::manual_seed(seed);
    auto model = std::make_shared<model::Model>();
    model->vocabulary = *music::KanadeTokenizer().fixed_vocabulary();
    model->config.vocab_size = static_cast<int>(model->vocabulary.size());
    model->config.hidden = hidden;
    model->config.embedding = 8;
    model->config.window = 16;
    model->network = model::Network(model->config);
    return model;
}

}  // namespace kanade::test
