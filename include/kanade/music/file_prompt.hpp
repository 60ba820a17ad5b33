// A prompt taken from a file (kanaded's engine.seed_midi, `kanade generate`, the windows
// eval-generation continues): tokens of the file that end on one of its bar lines, the
// last wait cut there. A session plays on from it on a bar line of its own grid, so a
// network told the bar hears the file's bar go on instead of a jump to another phase
// where the prompt stops and the grid's positions begin.
#pragma once

#include "kanade/music/token_corpus.hpp"
#include "kanade/music/token_table.hpp"

#include <cstddef>
#include <optional>
#include <random>
#include <vector>

namespace kanade::music {

struct TokenRange {
    std::size_t begin = 0, end = 0;  // ids[begin, end)
};

// The bar line token `i` of the file reaches, if it is a wait that lands on or passes one
// (the last, should it pass several). Never for a file without steps (seed tokens).
std::optional<long> bar_line_reached(const TokenizedFile& file, const TokenTable& tokens, std::size_t i);

// Every end of a prompt of `length` tokens that closes on a bar line, in order. A file
// without steps (seed tokens, which carry no bar) may end anywhere.
std::vector<std::size_t> prompt_ends(const TokenizedFile& file, const TokenTable& tokens, std::size_t length);

// What a file starts a session with: `length` tokens ending on the first bar line reached
// after as many (the file's first `length` tokens when none is).
TokenRange opening_prompt(const TokenizedFile& file, const TokenTable& tokens, std::size_t length);

struct FilePrompt {
    const TokenizedFile* file = nullptr;
    TokenRange range;
};
// Random prompts of `length` tokens from `files`: the file drawn first, then one of its
// ends. Every file's ends are found once, when the picker is made (eval-generation draws
// hundreds of prompts from the same files).
class PromptPicker {
public:
    PromptPicker(const std::vector<TokenizedFile>& files, const TokenTable& tokens, std::size_t length);
    // None when no file has an end.
    std::optional<FilePrompt> draw(std::mt19937_64& random) const;

private:
    std::size_t length_;
    std::vector<const TokenizedFile*> sources_;   // the files with at least one end
    std::vector<std::vector<std::size_t>> ends_;  // each source's ends
};

// The tokens of a range, with their conditions where the file has them. A last wait that
// passes a bar line is cut there (waits as the tokenizer writes a rest, told the bar line).
struct PromptTokens {
    std::vector<int> ids;
    std::vector<TokenCondition> conditions;  // as the file had them (kanade tokens); else empty
};
PromptTokens prompt_tokens(const TokenizedFile& file, const TokenTable& tokens, TokenRange range);

}  // namespace kanade::music
