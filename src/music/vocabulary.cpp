#include "kanade/music/vocabulary.hpp"

#include <stdexcept>

namespace kanade::music {

Vocabulary::Vocabulary(std::vector<std::string> tokens) : tokens_(std::move(tokens)) {
    for (std::size_t i = 0; i < tokens_.size(); ++i) {
        if (!ids_.emplace(tokens_[i], static_cast<int>(i)).second)
            throw std::invalid_argument("vocabulary: token '" + tokens_[i] + "' appears twice");
    }
}

Vocabulary Vocabulary::from_counts(const std::map<std::string, std::size_t>& counts, std::size_t min_count) {
    std::vector<std::string> kept;
    for (const auto& [token, count] : counts)  // std::map iterates in sorted order
        if (count >= min_count) kept.push_back(token);
    return Vocabulary(std::move(kept));
}

std::optional<int> Vocabulary::id_of(std::string_view token) const {
    auto found = ids_.find(std::string(token));
    if (found == ids_.end()) return std::nullopt;
    return found->second;
}

std::vector<int> Vocabulary::encode(const std::vector<std::string>& tokens, std::size_t* skipped) const {
    std::vector<int> ids;
    ids.reserve(tokens.size());
    std::size_t missing = 0;
    for (const auto& token : tokens) {
        if (auto id = id_of(token))
            ids.push_back(*id);
        else
            ++missing;
    }
    if (skipped) *skipped = missing;
    return ids;
}

std::vector<std::string> Vocabulary::decode(const std::vector<int>& ids) const {
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (int id : ids) tokens.push_back(token(id));
    return tokens;
}

}  // namespace kanade::music
