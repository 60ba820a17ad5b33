#include "kanade/music/bar_lookback.hpp"

#include <algorithm>

namespace kanade::music {

BarLookback::BarLookback(const TokenTable& tokens) : velocity_(tokens.size(), false) {
    if (tokens.size() > static_cast<std::size_t>(max_lookback_tokens)) return;  // ids do not fit a byte
    waits_ = tokens.waits();
    for (std::size_t id = 0; id < tokens.size(); ++id)
        velocity_[id] = tokens[static_cast<int>(id)].kind == TokenKind::velocity;
}

void BarLookback::clear() {
    groups_.clear();
    started_ = false;
    first_step_ = step_ = 0;
    index_ = 0;
}

void BarLookback::feed(int id, long step, const MeterMap& meters) {
    if (!started_) first_step_ = step, step_ = step, started_ = true;
    const bool known = id >= 0 && static_cast<std::size_t>(id) < velocity_.size();
    // A velocity is said only when it changes, so a repeat of a bar may say it where the
    // bar did not: counting it would shift every later token of the step against the copy.
    if (known && velocity_[static_cast<std::size_t>(id)]) return;
    const bool wait = waits_.steps_of(id) > 0;
    if (wait || step != step_) step_ = step, index_ = 0;
    if (wait) return;
    groups_[step].push_back(id);
    ++index_;
    // Four bars back are all any candidate reads (one more in case the bars were longer):
    // what is older goes, so the history stays a few bars however long the set.
    const long keep_from = step_ - static_cast<long>(max_bars_back + 1) * meters.steps_per_bar_at(step_);
    while (!groups_.empty() && groups_.begin()->first < keep_from) groups_.erase(groups_.begin());
}

std::uint8_t BarLookback::candidate(int bars, const MeterMap& meters) const {
    if (!started_ || waits_.empty()) return 0;
    const long then = step_ - static_cast<long>(bars) * meters.steps_per_bar_at(step_);
    if (then < first_step_) return 0;
    if (auto group = groups_.find(then); group != groups_.end() && index_ < group->second.size())
        return static_cast<std::uint8_t>(1 + group->second[index_]);
    // That step had no more: the music waited for its next sounding step (a longest wait
    // first when the gap is longer, as the tokenizer writes it).
    auto next = groups_.upper_bound(then);
    if (next == groups_.end()) return 0;
    const int wait = waits_.longest_id(next->first - then);
    return wait >= 0 ? static_cast<std::uint8_t>(1 + wait) : 0;
}

std::array<std::uint8_t, lookback_bars> BarLookback::candidates(const MeterMap& meters) const {
    std::array<std::uint8_t, lookback_bars> result{};
    for (int bars = 1; bars <= lookback_bars; ++bars)
        result[static_cast<std::size_t>(bars - 1)] = candidate(bars, meters);
    return result;
}

}  // namespace kanade::music
