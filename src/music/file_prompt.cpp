#include "kanade/music/file_prompt.hpp"

#include <algorithm>

namespace kanade::music {

std::optional<long> bar_line_reached(const TokenizedFile& file, const TokenTable& tokens, std::size_t i) {
    if (i >= file.ids.size() || file.steps.size() != file.ids.size()) return std::nullopt;
    const auto& meaning = tokens[file.ids[i]];
    if (meaning.kind != TokenKind::wait) return std::nullopt;
    const long after = file.steps[i], before = after - meaning.steps;
    const long bar_line = file.meters.bar_start(after);
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

PromptPicker::PromptPicker(const std::vector<TokenizedFile>& files, const TokenTable& tokens, std::size_t length)
    : length_(length) {
    for (const auto& file : files)
        if (auto file_ends = prompt_ends(file, tokens, length); !file_ends.empty()) {
            sources_.push_back(&file);
            ends_.push_back(std::move(file_ends));
        }
}

std::optional<FilePrompt> PromptPicker::draw(std::mt19937_64& random) const {
    if (sources_.empty()) return std::nullopt;
    const auto which = random() % sources_.size();
    const auto end = ends_[which][random() % ends_[which].size()];
    return FilePrompt{sources_[which], {end - length_, end}};
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
    for (int wait : tokens.waits().rest(*bar_line - before)) {
        prompt.ids.push_back(wait);
        prompt.conditions.push_back(condition);
    }
    return prompt;
}

}  // namespace kanade::music
