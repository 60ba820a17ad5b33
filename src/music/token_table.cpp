#include "kanade/music/token_table.hpp"

#include "kanade/music/kanade_tokenizer.hpp"
#include "kanade/music/seed_tokenizer.hpp"

#include <algorithm>
#include <cctype>

namespace kanade::music {

std::string_view token_kind_name(TokenKind kind) {
    switch (kind) {
        case TokenKind::pitch: return "pitch";
        case TokenKind::onset: return "onset";
        case TokenKind::duration: return "duration";
        case TokenKind::velocity: return "velocity";
        case TokenKind::wait: return "wait";
        case TokenKind::other: break;
    }
    return "other";
}

TokenMeaning TokenTable::meaning_of(std::string_view token, std::string_view tokenizer) {
    TokenMeaning meaning;
    if (tokenizer == "seed") {
        meaning.pitches = SeedTokenizer::pitches_of(token);
        if (meaning.pitches.empty()) return meaning;
        meaning.kind = TokenKind::onset;
        // "E4" names its octave; "4.7.11" is pitch classes in normal order.
        meaning.pitch_classes_only = std::isdigit(static_cast<unsigned char>(token.front())) != 0;
        return meaning;
    }
    if (auto pitch = KanadeTokenizer::token_number(token, 'P'); pitch && *pitch >= 0 && *pitch <= 127) {
        meaning.kind = TokenKind::pitch;
        meaning.pitches = {*pitch};
    } else if (auto steps = KanadeTokenizer::token_number(token, 'D'); steps && *steps >= 1) {
        meaning.kind = TokenKind::duration;
        meaning.steps = *steps;
    } else if (auto bin = KanadeTokenizer::token_number(token, 'V'); bin && *bin >= 1) {
        meaning.kind = TokenKind::velocity;
        meaning.velocity_bin = *bin;
        meaning.velocity = KanadeTokenizer::bin_velocity(*bin);
    } else if (auto wait = KanadeTokenizer::token_number(token, 'W'); wait && *wait >= 1) {
        meaning.kind = TokenKind::wait;
        meaning.steps = *wait;
    }
    return meaning;
}

TokenTable::TokenTable(const Vocabulary& vocabulary, std::string_view tokenizer) {
    meanings_.reserve(vocabulary.size());
    for (std::size_t id = 0; id < vocabulary.size(); ++id)
        meanings_.push_back(meaning_of(vocabulary.token(static_cast<int>(id)), tokenizer));
    waits_ = WaitTable(meanings_);
}

WaitTable::WaitTable(const std::vector<TokenMeaning>& meanings) : steps_of_id_(meanings.size(), 0) {
    for (std::size_t id = 0; id < meanings.size(); ++id) {
        if (meanings[id].kind != TokenKind::wait || meanings[id].steps <= 0) continue;
        const auto steps = static_cast<std::size_t>(meanings[id].steps);
        steps_of_id_[id] = meanings[id].steps;
        if (steps >= id_of_steps_.size()) id_of_steps_.resize(steps + 1, -1);
        id_of_steps_[steps] = static_cast<int>(id);
    }
}

int WaitTable::longest_id(long steps) const {
    for (steps = std::min(steps, static_cast<long>(id_of_steps_.size()) - 1); steps > 0; --steps)
        if (id_of_steps_[static_cast<std::size_t>(steps)] >= 0) return id_of_steps_[static_cast<std::size_t>(steps)];
    return -1;
}

std::vector<int> WaitTable::rest(long steps) const {
    std::vector<int> ids;
    for (int wait; steps > 0 && (wait = longest_id(steps)) >= 0; steps -= steps_of(wait)) ids.push_back(wait);
    return ids;
}

int TokenMeaning::steps_moved(int steps_per_beat) const {
    if (kind == TokenKind::wait) return std::min(steps, KanadeTokenizer::max_wait_steps);
    if (kind == TokenKind::onset) return steps_per_beat;
    return 0;
}

std::vector<std::int64_t> token_steps(const std::vector<int>& ids, const TokenTable& tokens, int steps_per_beat) {
    std::vector<std::int64_t> steps;
    steps.reserve(ids.size());
    std::int64_t at = 0;
    for (int id : ids) {
        at += tokens[id].steps_moved(steps_per_beat);
        steps.push_back(at);
    }
    return steps;
}

}  // namespace kanade::music
