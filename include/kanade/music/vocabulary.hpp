// A vocabulary maps token strings to the integer ids a network sees and back.
// Ids are dense, 0..size()-1, in the order tokens were added (the seed tokenizer
// sorts them, as the student project's `sorted(set(notes))` did).
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace kanade::music {

class Vocabulary {
public:
    Vocabulary() = default;
    explicit Vocabulary(std::vector<std::string> tokens);

    // Every token seen at least `min_count` times, sorted.
    static Vocabulary from_counts(const std::map<std::string, std::size_t>& counts, std::size_t min_count = 1);

    std::size_t size() const { return tokens_.size(); }
    bool empty() const { return tokens_.empty(); }
    std::optional<int> id_of(std::string_view token) const;
    const std::string& token(int id) const { return tokens_.at(static_cast<std::size_t>(id)); }
    const std::vector<std::string>& tokens() const { return tokens_; }

    // Ids of the tokens that are in the vocabulary; the others are skipped and counted.
    std::vector<int> encode(const std::vector<std::string>& tokens, std::size_t* skipped = nullptr) const;
    std::vector<std::string> decode(const std::vector<int>& ids) const;

    bool operator==(const Vocabulary& other) const { return tokens_ == other.tokens_; }

private:
    std::vector<std::string> tokens_;
    std::unordered_map<std::string, int> ids_;
};

}  // namespace kanade::music
