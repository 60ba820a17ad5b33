#include "kanade/music/file_prompt.hpp"

#include <algorithm>

namespace kanade::music {
namespace {

// The id of the wait of exactly `steps` steps, or -1.
int wait_id(const TokenTable& tokens, int steps) {
    for (std::size_t id = 0; id < tokens.size(); ++id) {
        const auto& meaning = tokens[static_cast<int>(id)];
        if (meaning.kind == TokenKind::wait && meaning.steps == steps) return static_cast<int>(id);
    }
    return -1;
}

}  // namespace

std::optional<long> bar_line_reached(const TokenizedFile& file, const TokenTable& tokens, std::size_t i) {
    if (i >= file.ids.size() || file.steps.size() != file.ids.size()) return std::nullopt;
    const auto& meaning = tokens[file.ids[i]];
    if (meaning.kind != TokenKind::wait) return std::nullopt;
    const long after = file.steps[i], before = after - meaning.steps;
    const auto at = file.meters.at(after);
    const long bar_line = after - at.beat_in_bar * file.meters.steps_per_beat_at(after) - at.step_in_beat;
    if (bar_line <= before) return std::nullopt;
    return bar_line;
}

std::vector<std::size_t> prompt_ends(const TokenizedFile& file, const TokenTable& tokens, std::size_t length) {
    std::vector<std::size_t> ends;
    const bool has_bars = file.steps.size() == file.ids.size() && !file.ids.empty();
    for (std::size_t end = std::max<std::size_t>(length, 1); end <= file.ids.size(); ++end)
        if (!has_bars || bar_line_reached(file, tokens, end - 1)) ends.push_back(end);
    return ends;
}

TokenRange opening_prompt(const TokenizedFile& file, const TokenTable& tokens, std::size_t length) {
    for (std::size_t end = std::max<std::size_t>(length, 1); end <= file.ids.size(); ++end)
        if (bar_line_reached(file, tokens, end - 1)) return {end - length, end};
    return {0, std::min(length, file.ids.size())};
}

std::optional<FilePrompt> random_prompt(const std::vector<TokenizedFile>& files, const TokenTable& tokens,
                                        std::size_t length, std::mt19937_64& random) {
    std::vector<const TokenizedFile*> sources;
    std::vector<std::vector<std::size_t>> ends;
    for (const auto& file : files)
        if (auto file_ends = prompt_ends(file, tokens, length); !file_ends.empty()) {
            sources.push_back(&file);
            ends.push_back(std::move(file_ends));
        }
    if (sources.empty()) return std::nullopt;
    const auto which = random() % sources.size();
    const auto end = ends[which][random() % ends[which].size()];
    return FilePrompt{sources[which], {end - length, end}};
}

PromptTokens prompt_tokens(const TokenizedFile& file, const TokenTable& tokens, TokenRange range) {
    PromptTokens prompt;
    range.end = std::min(range.end, file.ids.size());
    range.begin = std::min(range.begin, range.end);
    const auto begin = static_cast<std::ptrdiff_t>(range.begin), end = static_cast<std::ptrdiff_t>(range.end);
    prompt.ids.assign(file.ids.begin() + begin, file.ids.begin() + end);
    if (file.conditions.size() == file.ids.size())
        prompt.conditions.assign(file.conditions.begin() + begin, file.conditions.begin() + end);
    if (prompt.ids.empty() || prompt.conditions.empty()) return prompt;
    const auto last = range.end - 1;
    const auto bar_line = bar_line_reached(file, tokens, last);
    if (!bar_line || *bar_line == file.steps[last]) return prompt;
    // The last wait passes the bar line: the rest up to it instead, longest waits first.
    auto condition = prompt.conditions.back();
    set_position(condition, file.meters, *bar_line);
    prompt.ids.pop_back();
    prompt.conditions.pop_back();
    const long before = file.steps[last] - tokens[file.ids[last]].steps;
    for (long rest = *bar_line - before; rest > 0;) {
        int steps = static_cast<int>(rest), id = -1;
        for (; steps > 0 && (id = wait_id(tokens, steps)) < 0; --steps) {}
        if (id < 0) break;
        prompt.ids.push_back(id);
        prompt.conditions.push_back(condition);
        rest -= steps;
    }
    return prompt;
}

}  // namespace kanade::music
