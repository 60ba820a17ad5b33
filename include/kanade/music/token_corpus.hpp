// A corpus turned into token ids with one tokenizer and one vocabulary: what the
// trainer and the evaluator read. The seed tokenizer's vocabulary is built from the
// corpus (tokens seen fewer than `min_count` times are cut, as rare chords were);
// the kanade tokenizer brings its own fixed one.
#pragma once

#include "kanade/music/corpus.hpp"
#include "kanade/music/token_conditions.hpp"
#include "kanade/music/tokenizer.hpp"

#include <optional>

namespace kanade::music {

struct TokenizedFile {
    std::filesystem::path path;
    Split split = Split::train;
    int transposed = 0;  // semitones, for augmented copies of training files
    std::vector<int> ids;
    std::vector<TokenCondition> conditions;  // one per id (kanade tokens; empty for seed)
    std::vector<long> steps;  // with conditions: the grid step each id sounds at (a wait: the one it moves to)
    MeterMap meters;          // the file's bars on the grid
    std::size_t note_events = 0;
    double seconds = 0;
};

struct TokenizeOptions {
    std::size_t min_count = 1;             // seed tokenizer: cut tokens rarer than this
    int transpose = 0;                     // add training copies moved by -N..+N semitones
    std::optional<Vocabulary> vocabulary;  // use this one (a model's) instead of building one
    bool style_per_folder = false;         // each input of the corpus its own style (1, 2 ...)
};

struct TokenizedCorpus {
    Vocabulary vocabulary;
    std::vector<TokenizedFile> files;
    std::size_t skipped_tokens = 0;  // tokens not in the vocabulary

    std::size_t token_count(std::optional<Split> split = std::nullopt) const;
};

TokenizedCorpus tokenize_corpus(const Corpus& corpus, const Tokenizer& tokenizer, const TokenizeOptions& options = {});

}  // namespace kanade::music
