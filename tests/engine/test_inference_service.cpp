// The inference worker on its own: a forward pass that throws must not take the worker
// (and with it the daemon) down; it is counted, described, and the sessions start again.
#include "kanade/engine/inference_service.hpp"
#include "kanade/music/kanade_tokenizer.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <thread>

using namespace kanade;
using namespace kanade::engine;

TEST_CASE("a failing forward pass is counted and survived; the worker goes on") {
    // A network with more outputs than the vocabulary has tokens, leaning hard on one
    // past the end: every sampled step then fails inside the worker.
    torch::manual_seed(3);
    auto model = std::make_shared<model::Model>();
    model->vocabulary = *music::KanadeTokenizer().fixed_vocabulary();
    model->config.vocab_size = static_cast<int>(model->vocabulary.size()) + 4;
    model->config.hidden = 16;
    model->config.embedding = 8;
    model->config.window = 16;
    model->network = model::Network(model->config);
    {
        torch::NoGradGuard no_grad;
        for (auto& parameter : model->network->named_parameters())
            if (parameter.key() == "dense.bias") parameter.value()[model->config.vocab_size - 1] += 50.0;
    }
    InferenceService service(model, torch::kCPU, InferenceMode::streaming, 1);
    service.add_session({});
    service.start();
    for (std::int64_t step = 0; step < 20; ++step) {
        service.set_clock_step(step);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    auto stats = service.stats();
    service.stop();  // joins: the worker is still alive to be joined
    CHECK(stats.failures > 0);
    CHECK_FALSE(stats.last_failure.empty());
    CHECK(stats.device == "cpu");
    MESSAGE(stats.failures << " failed passes, the last: " << stats.last_failure);
}
