#include "kanade/model/ngram_model.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <unordered_set>

namespace kanade::model {
namespace {

constexpr int max_supported_order = 16;

// A run of ids as a hashable key (their bytes).
std::string key_of(std::span<const int> ids) {
    std::string key(ids.size() * sizeof(int), '\0');
    if (!ids.empty()) std::memcpy(key.data(), ids.data(), key.size());
    return key;
}

int last_id_of(const std::string& key) {
    int id = 0;
    std::memcpy(&id, key.data() + key.size() - sizeof(int), sizeof(int));
    return id;
}

// Counts of every k-gram: raw counts, or (for the lower orders of Kneser-Ney) the number
// of different tokens seen just before it, the start of a sequence counting as one.
std::unordered_map<std::string, double> count_kgrams(const std::vector<std::vector<int>>& sequences, int k,
                                                     bool continuation) {
    std::unordered_map<std::string, double> counts;
    std::unordered_set<std::string> seen_with_left;
    const auto width = static_cast<std::size_t>(k);
    for (const auto& sequence : sequences) {
        for (std::size_t i = 0; i + width <= sequence.size(); ++i) {
            std::span<const int> gram(sequence.data() + i, width);
            if (continuation) {
                int left = i > 0 ? sequence[i - 1] : -1;
                std::string pair = key_of(std::span<const int>(&left, 1)) + key_of(gram);
                if (!seen_with_left.insert(std::move(pair)).second) continue;
            }
            counts[key_of(gram)] += 1;
        }
    }
    return counts;
}

// Chen & Goodman's modified Kneser-Ney discounts for counts of 1, 2 and 3 or more,
// from how many n-grams were seen once to four times; each kept below its count.
std::array<double, 3> discounts_from(const std::unordered_map<std::string, double>& counts) {
    std::array<double, 5> seen{};  // seen[c]: n-grams of count c, 1..4
    for (const auto& [gram, count] : counts)
        if (count >= 1 && count <= 4) ++seen[static_cast<std::size_t>(count)];
    const double y = seen[1] > 0 && seen[2] > 0 ? seen[1] / (seen[1] + 2 * seen[2]) : 0.5;
    std::array<double, 3> discounts{};
    double previous = y;
    for (std::size_t c = 1; c <= 3; ++c) {
        double d = seen[c] > 0 && seen[c + 1] > 0 ? c - (c + 1) * y * seen[c + 1] / seen[c] : previous;
        discounts[c - 1] = previous = std::clamp(d, 0.05, 0.95 * static_cast<double>(c));
    }
    return discounts;
}

double discount_for(const std::array<double, 3>& discounts, double count) {
    return discounts[static_cast<std::size_t>(std::clamp(count, 1.0, 3.0)) - 1];
}

}  // namespace

NgramModel::NgramModel(const std::vector<std::vector<int>>& sequences, int vocab_size, int order)
    : vocab_size_(vocab_size), order_(order) {
    if (vocab_size < 1) throw std::invalid_argument("n-gram model: vocabulary size " + std::to_string(vocab_size));
    if (order < 1 || order > max_supported_order)
        throw std::invalid_argument("n-gram model: order " + std::to_string(order) + " outside 1.." +
                                    std::to_string(max_supported_order));
    for (std::size_t s = 0; s < sequences.size(); ++s)
        for (std::size_t i = 0; i < sequences[s].size(); ++i)
            if (sequences[s][i] < 0 || sequences[s][i] >= vocab_size)
                throw std::invalid_argument("n-gram model: sequence " + std::to_string(s) + " position " +
                                            std::to_string(i) + " holds id " + std::to_string(sequences[s][i]) +
                                            ", outside the vocabulary of " + std::to_string(vocab_size));

    tables_.resize(static_cast<std::size_t>(order));
    discounts_.resize(static_cast<std::size_t>(order));
    for (int k = 1; k <= order; ++k) {
        auto counts = count_kgrams(sequences, k, k < order);
        discounts_[static_cast<std::size_t>(k - 1)] = discounts_from(counts);
        auto& table = tables_[static_cast<std::size_t>(k - 1)];
        for (const auto& [gram, count] : counts) {
            auto& followers = table[gram.substr(0, gram.size() - sizeof(int))];
            followers.total += count;
            followers.counts.emplace_back(last_id_of(gram), count);
        }
    }
}

std::vector<double> NgramModel::distribution(std::span<const int> context) const {
    std::vector<double> p(static_cast<std::size_t>(vocab_size_), 1.0 / vocab_size_);
    for (int k = 1; k <= order_; ++k) {
        const auto length = static_cast<std::size_t>(k - 1);
        if (context.size() < length) break;
        const auto& table = tables_[length];
        auto found = table.find(key_of(context.subspan(context.size() - length)));
        // A context never seen at this order is never seen at a higher one either.
        if (found == table.end()) break;
        const auto& followers = found->second;
        const auto& discounts = discounts_[length];
        // The mass taken from the seen followers goes to the lower order's distribution.
        double taken = 0;
        for (const auto& [id, count] : followers.counts) taken += discount_for(discounts, count);
        const double lower_weight = taken / followers.total;
        for (auto& value : p) value *= lower_weight;
        for (const auto& [id, count] : followers.counts)
            p[static_cast<std::size_t>(id)] += (count - discount_for(discounts, count)) / followers.total;
    }
    return p;
}

std::vector<std::vector<int>> split_sequences(const music::TokenizedCorpus& corpus, music::Split split) {
    std::vector<std::vector<int>> sequences;
    for (const auto& file : corpus.files)
        if (file.split == split) sequences.push_back(file.ids);
    return sequences;
}

EvalResult evaluate_ngram(const NgramModel& model, const std::vector<music::TokenizedFile>& files) {
    EvalResult result;
    result.nll_by_token.assign(static_cast<std::size_t>(model.vocab_size()), 0.0);
    double nll = 0, correct = 0, note_events = 0, seconds = 0;
    const auto context_length = static_cast<std::size_t>(model.order() - 1);
    for (const auto& file : files) {
        ++result.files;
        note_events += static_cast<double>(file.note_events);
        seconds += file.seconds;
        for (std::size_t t = 1; t < file.ids.size(); ++t) {
            std::size_t start = t > context_length ? t - context_length : 0;
            auto p = model.distribution(std::span<const int>(file.ids.data() + start, t - start));
            const auto truth = static_cast<std::size_t>(file.ids[t]);
            const double token_nll = -std::log(p.at(truth));
            nll += token_nll;
            result.nll_by_token[truth] += token_nll;
            if (static_cast<std::size_t>(std::max_element(p.begin(), p.end()) - p.begin()) == truth) ++correct;
            ++result.tokens;
        }
    }
    if (result.tokens == 0) throw std::runtime_error("eval: the files hold fewer than two known tokens");
    const auto tokens = static_cast<double>(result.tokens);
    result.nll = nll / tokens;
    result.accuracy = correct / tokens;
    result.perplexity = std::exp(result.nll);
    result.nll_per_note = note_events > 0 ? nll / note_events : NAN;
    result.nll_per_second = seconds > 0 ? nll / seconds : NAN;
    result.note_events = note_events;
    result.seconds = seconds;
    return result;
}

OrderChoice choose_ngram_order(const std::vector<std::vector<int>>& train,
                               const std::vector<music::TokenizedFile>& valid, int vocab_size, int max_order) {
    OrderChoice choice;
    double best = std::numeric_limits<double>::infinity();
    for (int order = 1; order <= std::min(max_order, max_supported_order); ++order) {
        double nll = evaluate_ngram(NgramModel(train, vocab_size, order), valid).nll;
        choice.valid_nll.push_back(nll);
        if (nll < best) best = nll, choice.order = order;
    }
    return choice;
}

}  // namespace kanade::model
