#include "kanade/model/ngram_model.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <numeric>
#include <random>

using namespace kanade;
using namespace kanade::model;

namespace {

// `repeats` copies of `pattern`, one after another.
std::vector<int> repeated(const std::vector<int>& pattern, int repeats) {
    std::vector<int> ids;
    for (int r = 0; r < repeats; ++r) ids.insert(ids.end(), pattern.begin(), pattern.end());
    return ids;
}

music::TokenizedFile file_of(std::vector<int> ids, std::size_t note_events = 0, double seconds = 0) {
    music::TokenizedFile file;
    file.ids = std::move(ids);
    file.note_events = note_events;
    file.seconds = seconds;
    return file;
}

}  // namespace

TEST_CASE("an n-gram distribution sums to 1 over the vocabulary and gives every token some mass") {
    std::mt19937 random(7);
    std::vector<std::vector<int>> sequences;
    for (int s = 0; s < 5; ++s) {
        std::vector<int> ids;
        for (int i = 0; i < 300; ++i) ids.push_back(static_cast<int>(random() % 12));  // ids 12..19 never seen
        sequences.push_back(ids);
    }
    for (int order : {1, 2, 3, 5}) {
        CAPTURE(order);
        NgramModel model(sequences, 20, order);
        std::vector<std::vector<int>> contexts = {{}, {3}, {3, 4}, {19, 18, 17}, sequences[0], {1, 19, 2, 3}};
        for (const auto& context : contexts) {
            auto p = model.distribution(context);
            REQUIRE(p.size() == 20);
            CHECK(std::accumulate(p.begin(), p.end(), 0.0) == doctest::Approx(1.0).epsilon(1e-12));
            for (double value : p) CHECK(value > 0);
            CHECK(p[19] < p[3]);  // never seen against seen
        }
    }
}

TEST_CASE("modified Kneser-Ney at order 1 gives the hand-computed probabilities") {
    // Counts 0: 2, 1: 1; n1 = 1, n2 = 1, n3 = 0, so D1 = 1 - 2 Y n2 / n1 = 1/3 with
    // Y = n1 / (n1 + 2 n2) = 1/3, D2 falls back to D1, and the uniform share is
    // (D1 + D2) / 3 tokens = 2/9.
    NgramModel model({{0, 0, 1}}, 3, 1);
    CHECK(model.discounts()[0][0] == doctest::Approx(1.0 / 3));
    CHECK(model.discounts()[0][1] == doctest::Approx(1.0 / 3));
    auto p = model.distribution({});
    CHECK(p[0] == doctest::Approx(2.0 / 27 + (2 - 1.0 / 3) / 3));
    CHECK(p[1] == doctest::Approx(2.0 / 27 + (1 - 1.0 / 3) / 3));
    CHECK(p[2] == doctest::Approx(2.0 / 27));
}

TEST_CASE("a longer context resolves what a shorter one cannot") {
    // After 0 comes 1 or 2 in turn; only the token before the 0 says which.
    auto ids = repeated({0, 1, 0, 2}, 50);
    NgramModel bigram({ids}, 3, 2), trigram({ids}, 3, 3);
    auto after_bigram = bigram.distribution(std::vector<int>{1, 0});
    CHECK(after_bigram[1] == doctest::Approx(after_bigram[2]).epsilon(0.05));
    auto after_trigram = trigram.distribution(std::vector<int>{1, 0});
    CHECK(after_trigram[2] > 0.9);
    CHECK(trigram.distribution(std::vector<int>{2, 0})[1] > 0.9);
}

TEST_CASE("evaluating an n-gram model counts and scores tokens as the network evaluator does") {
    auto ids = repeated({0, 1, 0, 2}, 50);
    NgramModel model({ids}, 3, 3);
    std::vector<music::TokenizedFile> held_out = {file_of(repeated({0, 1, 0, 2}, 5), 10, 4.0),
                                                  file_of({2, 0, 1}, 2, 1.0), file_of({1}, 1, 0.5)};
    auto result = evaluate_ngram(model, held_out);
    CHECK(result.files == 3);
    CHECK(result.tokens == 19 + 2);  // every token but each file's first
    // Only the second token of each file lacks the context that decides it.
    CHECK(result.accuracy > 0.85);
    CHECK(result.perplexity == doctest::Approx(std::exp(result.nll)));
    const double total = result.nll * static_cast<double>(result.tokens);
    CHECK(result.nll_per_note == doctest::Approx(total / 13));
    CHECK(result.nll_per_second == doctest::Approx(total / 5.5));

    // The NLL split by the token predicted adds up to the whole.
    REQUIRE(result.nll_by_token.size() == 3);
    CHECK(result.nll_by_token[0] + result.nll_by_token[1] + result.nll_by_token[2] == doctest::Approx(total));
    CHECK(result.note_events == 13);
    music::Vocabulary vocabulary({"P60", "D4", "W4"});
    auto by_kind = nll_per_note_by_kind(result, vocabulary, "kanade");
    CHECK(by_kind.at("pitch") == doctest::Approx(result.nll_by_token[0] / 13));
    CHECK(by_kind.at("wait") == doctest::Approx(result.nll_by_token[2] / 13));
    // Every seed token is an onset: its share is the whole.
    music::Vocabulary seed_vocabulary({"C4", "0.4.7", "E4"});
    CHECK(nll_per_note_by_kind(result, seed_vocabulary, "seed").at("onset") == doctest::Approx(result.nll_per_note));

    auto unigram = evaluate_ngram(NgramModel({ids}, 3, 1), held_out);
    CHECK(unigram.nll > result.nll + 0.3);
    CHECK_THROWS_AS(evaluate_ngram(model, {file_of({1})}), std::runtime_error);
}

TEST_CASE("the n-gram order is chosen on the validation files") {
    auto train = repeated({0, 1, 0, 2, 3}, 40);
    auto choice = choose_ngram_order({train}, {file_of(repeated({0, 1, 0, 2, 3}, 4))}, 4, 5);
    REQUIRE(choice.valid_nll.size() == 5);
    CHECK(choice.order >= 3);
    CHECK(choice.valid_nll[static_cast<std::size_t>(choice.order - 1)] < choice.valid_nll[1]);
    CHECK(choice.valid_nll[1] < choice.valid_nll[0]);
}

TEST_CASE("an n-gram model refuses ids outside its vocabulary and impossible orders") {
    CHECK_THROWS_WITH_AS(NgramModel({{0, 1}, {2, 5}}, 4, 2), doctest::Contains("sequence 1 position 1"),
                         std::invalid_argument);
    CHECK_THROWS_AS(NgramModel({{0, -1}}, 4, 2), std::invalid_argument);
    CHECK_THROWS_AS(NgramModel({{0, 1}}, 4, 0), std::invalid_argument);
    CHECK_THROWS_AS(NgramModel({{0, 1}}, 0, 2), std::invalid_argument);
}
