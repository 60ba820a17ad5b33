// The baseline with no network: an interpolated modified Kneser-Ney n-gram model over
// token ids (Chen & Goodman 1998), counted on the training files. `kanade eval --baseline
// ngram` measures it exactly as it measures a network: a network that does not beat it
// has learned nothing.
#pragma once

#include "kanade/model/evaluator.hpp"
#include "kanade/music/token_corpus.hpp"

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace kanade::model {

class NgramModel {
public:
    // Counts every n-gram up to `order` tokens in `sequences` (ids below `vocab_size`;
    // others throw std::invalid_argument naming the sequence and position).
    NgramModel(const std::vector<std::vector<int>>& sequences, int vocab_size, int order);

    int order() const { return order_; }
    int vocab_size() const { return vocab_size_; }

    // P(next token | the last order-1 ids of `context`), one entry per token id; sums
    // to 1 and is never 0 (the lowest order is interpolated with the uniform one).
    std::vector<double> distribution(std::span<const int> context) const;

    // The discounts for counts of 1, 2 and 3+ at each order (index 0: unigrams).
    const std::vector<std::array<double, 3>>& discounts() const { return discounts_; }

private:
    // What follows one context at one order: counts (raw at the top order, continuation
    // counts below it, as Kneser-Ney prescribes) and their sum.
    struct Followers {
        double total = 0;
        std::vector<std::pair<int, double>> counts;
    };
    using ContextTable = std::unordered_map<std::string, Followers>;

    int vocab_size_;
    int order_;
    std::vector<ContextTable> tables_;  // [k]: contexts of k ids
    std::vector<std::array<double, 3>> discounts_;
};

// Ids of the files of one split.
std::vector<std::vector<int>> split_sequences(const music::TokenizedCorpus& corpus, music::Split split);

// Metrics of `model` on `files` as `kanade eval` reports them for a network: every
// token but each file's first, predicted from the ids before it.
EvalResult evaluate_ngram(const NgramModel& model, const std::vector<music::TokenizedFile>& files);

// The order (1..max_order) whose model, counted on `train`, predicts `valid` best.
struct OrderChoice {
    int order = 1;
    std::vector<double> valid_nll;  // [order - 1]
};
OrderChoice choose_ngram_order(const std::vector<std::vector<int>>& train,
                               const std::vector<music::TokenizedFile>& valid, int vocab_size, int max_order);

}  // namespace kanade::model
