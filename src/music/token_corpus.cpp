#include "kanade/music/token_corpus.hpp"

#include "kanade/music/bar_lookback.hpp"

#include <algorithm>
#include <map>

namespace kanade::music {
namespace {

std::vector<midi::Note> transposed(std::vector<midi::Note> notes, int semitones) {
    for (auto& note : notes) note.pitch = static_cast<std::uint8_t>(std::clamp(note.pitch + semitones, 0, 127));
    return notes;
}

}  // namespace

std::size_t TokenizedCorpus::token_count(std::optional<Split> split) const {
    std::size_t total = 0;
    for (const auto& file : files)
        if (!split || file.split == *split) total += file.ids.size();
    return total;
}

TokenizedCorpus tokenize_corpus(const Corpus& corpus, const Tokenizer& tokenizer, const TokenizeOptions& options) {
    struct Pending {
        const CorpusFile* file;
        int shift;
        TimedTokens timed;
    };
    std::vector<Pending> pending;
    for (const auto& file : corpus.files) {
        int range = file.split == Split::train ? options.transpose : 0;
        for (int shift = -range; shift <= range; ++shift)
            pending.push_back(
                {&file, shift, tokenizer.encode_timed(shift ? transposed(file.notes, shift) : file.notes)});
    }

    TokenizedCorpus result;
    if (options.vocabulary) {
        result.vocabulary = *options.vocabulary;
    } else if (auto fixed = tokenizer.fixed_vocabulary()) {
        result.vocabulary = *fixed;
    } else {
        // As the student project did, the vocabulary is every token of the corpus
        // (un-transposed), less the rare ones.
        std::map<std::string, std::size_t> counts;
        for (const auto& item : pending)
            if (item.shift == 0)
                for (const auto& token : item.timed.tokens) ++counts[token];
        result.vocabulary = Vocabulary::from_counts(counts, options.min_count);
    }

    BarLookback lookback(TokenTable(result.vocabulary, tokenizer.name()));
    for (auto& item : pending) {
        TokenizedFile file;
        file.path = item.file->path;
        file.split = item.file->split;
        file.transposed = item.shift;
        file.note_events = tokenizer.count_note_events(item.timed.tokens);
        file.seconds = item.file->seconds;
        const auto& timed = item.timed;
        std::vector<TokenCondition> conditions;
        const MeterMap meters(item.file->meters, tokenizer.grid().steps_per_beat);
        file.meters = meters;
        if (!timed.steps.empty()) {
            const int style = options.style_per_folder ? static_cast<int>(item.file->input) + 1 : 0;
            conditions = piece_conditions(timed.steps, timed.velocities, meters, style);
        }
        // Token by token, so each id keeps its condition when an unknown token is skipped;
        // what came next a bar back is told after each token, as the daemon tells it.
        lookback.clear();
        for (std::size_t i = 0; i < timed.tokens.size(); ++i) {
            auto id = result.vocabulary.id_of(timed.tokens[i]);
            if (!id) {
                ++result.skipped_tokens;
                continue;
            }
            file.ids.push_back(*id);
            if (conditions.empty()) continue;
            lookback.feed(*id, timed.steps[i], meters);
            auto condition = conditions[i];
            set_lookback(condition, lookback.candidates(meters));
            file.conditions.push_back(condition);
            file.steps.push_back(timed.steps[i]);
        }
        result.files.push_back(std::move(file));
    }
    return result;
}

}  // namespace kanade::music
