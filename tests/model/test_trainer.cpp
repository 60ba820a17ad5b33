#include "kanade/model/evaluator.hpp"
#include "kanade/model/trainer.hpp"
#include "kanade/music/kanade_tokenizer.hpp"

#include "../test_paths.hpp"
#include "tiny_corpus.hpp"
#include "../engine/random_model.hpp"

#include <doctest/doctest.h>

#include <fstream>

using namespace kanade;
using namespace kanade::model;

namespace {

TrainOptions tiny_options(const test::TemporaryFolder& folder, const std::string& name) {
    TrainOptions options;
    options.corpus = {folder / "corpus"};
    options.tokenizer = "kanade";
    options.network.arch = "kanade";
    options.network.hidden = 32;
    options.network.embedding = 16;
    options.network.window = 16;
    options.network.dropout = 0.1;
    options.epochs = 3;
    options.batch = 16;
    options.learning_rate = 0.01;
    options.device = "cpu";
    options.threads = 1;
    options.quiet = true;
    options.output = folder / name;
    return options;
}

int count_lines(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::string line;
    int lines = 0;
    while (std::getline(in, line)) ++lines;
    return lines;
}

}  // namespace

TEST_CASE("a few epochs of training lower the loss and leave every record") {
    test::TemporaryFolder folder;
    test::write_tiny_corpus(folder / "corpus");
    auto options = tiny_options(folder, "tiny.kmodel");
    auto result = train(options);
    REQUIRE(result.finished);
    REQUIRE(result.history.size() == 3);
    CHECK(result.history.back().train_loss < result.history.front().train_loss * 0.8);
    CHECK(result.history.back().valid_loss < result.history.front().valid_loss);
    CHECK(result.valid_tokens > 0);
    CHECK(count_lines(folder / "tiny.kmodel.csv") == 4);
    CHECK(std::filesystem::file_size(folder / "tiny.kmodel.svg") > 500);

    auto model = load_model(folder / "tiny.kmodel");
    CHECK(model.info.count("valid_loss") == 1);
    auto evaluation = evaluate(model, {folder / "corpus"}, torch::kCPU, {.mode = "faithful", .batch = 64});
    CHECK(evaluation.files == 20);
    CHECK(evaluation.tokens > 1000);
    CHECK(evaluation.perplexity == doctest::Approx(std::exp(evaluation.nll)));
    // Far better than guessing among 124 tokens.
    CHECK(evaluation.perplexity < 20);
    CHECK(evaluation.accuracy > 0.3);
}

TEST_CASE("training is deterministic for a seed, and a resumed run equals an unbroken one") {
    test::TemporaryFolder folder;
    test::write_tiny_corpus(folder / "corpus", 12, 64);
    auto unbroken = tiny_options(folder, "a.kmodel");
    unbroken.epochs = 2;
    auto first = train(unbroken);

    auto again = tiny_options(folder, "b.kmodel");
    again.epochs = 2;
    auto second = train(again);
    REQUIRE(second.history.size() == 2);
    CHECK(second.history[1].train_loss == first.history[1].train_loss);
    CHECK(second.history[1].valid_loss == first.history[1].valid_loss);

    auto interrupted = tiny_options(folder, "c.kmodel");
    interrupted.epochs = 1;
    train(interrupted);
    auto resumed = tiny_options(folder, "c.kmodel");
    resumed.epochs = 2;
    resumed.resume = true;
    auto finished = train(resumed);
    REQUIRE(finished.history.size() == 2);
    CHECK(finished.history[0].train_loss == first.history[0].train_loss);
    CHECK(finished.history[1].train_loss == first.history[1].train_loss);
    CHECK(finished.history[1].valid_loss == first.history[1].valid_loss);
}

TEST_CASE("training across windows (state carried, conditions on): a run resumed mid-epoch equals an unbroken one") {
    test::TemporaryFolder folder;
    test::write_tiny_corpus(folder / "corpus", 12, 64);
    auto options = [&](const std::string& name) {
        auto o = tiny_options(folder, name);
        o.epochs = 2;
        o.batch = 4;
        o.carry_state = true;
        o.network.meter_input = o.network.control_input = true;
        o.style_per_folder = true;
        return o;
    };
    auto unbroken = train(options("a.kmodel"));
    REQUIRE(unbroken.finished);
    REQUIRE(unbroken.history.size() == 2);
    CHECK(unbroken.history[1].valid_loss < unbroken.history[0].train_loss);

    auto interrupted = options("b.kmodel");
    interrupted.stop_after_batches = 3;  // inside the first epoch: the carried state is in the checkpoint
    CHECK_FALSE(train(interrupted).finished);
    auto resumed = options("b.kmodel");
    resumed.resume = true;
    auto finished = train(resumed);
    REQUIRE(finished.finished);
    REQUIRE(finished.history.size() == 2);
    CHECK(finished.history[0].train_loss == unbroken.history[0].train_loss);
    CHECK(finished.history[1].valid_loss == unbroken.history[1].valid_loss);

    auto model = load_model(folder / "a.kmodel");
    CHECK(model.config.meter_input);
    CHECK(model.config.styles == 1);
    CHECK(model.info.count("carried_state"));
    CHECK(model.info.count("typical_density_bin"));
    // A model trained across windows is judged as it plays: the state carried over each piece.
    auto streaming = evaluate(model, {folder / "corpus"}, torch::kCPU);
    auto faithful = evaluate(model, {folder / "corpus"}, torch::kCPU, {.mode = "faithful"});
    CHECK(resolved_mode(model, {}) == "streaming");
    CHECK(streaming.tokens == faithful.tokens);
    CHECK(streaming.nll != faithful.nll);
}

TEST_CASE("pieces are dealt to lanes whole, window after window, each lane's state restarting at a piece") {
    test::TemporaryFolder folder;
    test::write_tiny_corpus(folder / "corpus", 6, 40);
    auto corpus = music::load_corpus({folder / "corpus"});
    auto tokens = music::tokenize_corpus(corpus, music::KanadeTokenizer());
    for (auto& file : tokens.files) file.split = music::Split::train;
    PieceStreams streams(tokens, music::Split::train, 3, 16);
    REQUIRE(streams.file_count() == 6);
    std::size_t total = 0;
    for (const auto& file : tokens.files) total += file.ids.size() - 1;
    std::int64_t counted = 0;
    std::vector<std::int64_t> last_target(3, -1);
    for (std::int64_t b = 0; b < streams.batches(); ++b) {
        auto batch = streams.batch(b);
        counted += batch.tokens;
        CHECK(batch.conditions.defined());
        for (std::int64_t lane = 0; lane < 3; ++lane) {
            // Inside a piece, a window's first input is the last target of the window before.
            if (!batch.fresh[lane].item<bool>() && last_target[static_cast<std::size_t>(lane)] >= 0)
                CHECK(batch.inputs[lane][0].item<std::int64_t>() == last_target[static_cast<std::size_t>(lane)]);
            auto targets = batch.targets[lane];
            auto counted_targets = targets.ne(ignore_target).sum().item<std::int64_t>();
            last_target[static_cast<std::size_t>(lane)] =
                counted_targets > 0 ? targets[counted_targets - 1].item<std::int64_t>() : -1;
        }
    }
    CHECK(counted == static_cast<std::int64_t>(total));  // every target once
    CHECK(streams.batch(0).fresh.all().item<bool>());
}

TEST_CASE("a checkpoint of another network is not resumed") {
    test::TemporaryFolder folder;
    test::write_tiny_corpus(folder / "corpus", 12, 64);
    auto options = tiny_options(folder, "m.kmodel");
    options.epochs = 1;
    train(options);
    options.network.hidden = 40;
    options.resume = true;
    CHECK_THROWS_WITH(train(options), doctest::Contains("different network"));
}

TEST_CASE("eval's faithful window counts grid steps when the model says window_steps, as kanaded's does") {
    test::TemporaryFolder folder;
    test::write_tiny_corpus(folder / "corpus");
    auto model = test::random_model(3, 16);
    model->tokenizer = "kanade";
    model->network->eval();
    const auto streaming = evaluate(*model, {folder / "corpus"}, torch::kCPU, {.mode = "streaming"});
    // A window longer than any piece: every token sees all before it from a fresh state,
    // which is what streaming gives; any slip in which tokens a window holds shows here.
    model->config.window_steps = 4096;
    const auto whole = evaluate(*model, {folder / "corpus"}, torch::kCPU, {.mode = "faithful", .batch = 32});
    CHECK(whole.tokens == streaming.tokens);
    CHECK(whole.nll == doctest::Approx(streaming.nll).epsilon(1e-4));
    // A bar's window forgets: not the streaming figure, nor the 16-token window's.
    model->config.window_steps = 4;
    const auto short_window = evaluate(*model, {folder / "corpus"}, torch::kCPU, {.mode = "faithful"});
    model->config.window_steps = 0;
    const auto tokens_window = evaluate(*model, {folder / "corpus"}, torch::kCPU, {.mode = "faithful"});
    CHECK(short_window.tokens == streaming.tokens);
    CHECK(std::abs(short_window.nll - streaming.nll) > 1e-4);
    CHECK(std::abs(short_window.nll - tokens_window.nll) > 1e-4);
}
