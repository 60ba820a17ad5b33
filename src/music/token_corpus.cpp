#include "kanade/music/token_corpus.hpp"

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
        std::vector<std::string> tokens;
    };
    std::vector<Pending> pending;
    for (const auto& file : corpus.files) {
        int range = file.split == Split::train ? options.transpose : 0;
        for (int shift = -range; shift <= range; ++shift)
            pending.push_back({&file, shift, tokenizer.encode(shift ? transposed(file.notes, shift) : file.notes)});
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
                for (const auto& token : item.tokens) ++counts[token];
        result.vocabulary = Vocabulary::from_counts(counts, options.min_count);
    }

    for (auto& item : pending) {
        TokenizedFile file;
        file.path = item.file->path;
        file.split = item.file->split;
        file.transposed = item.shift;
        file.note_events = tokenizer.count_note_events(item.tokens);
        file.seconds = item.file->seconds;
        std::size_t skipped = 0;
        file.ids = result.vocabulary.encode(item.tokens, &skipped);
        result.skipped_tokens += skipped;
        result.files.push_back(std::move(file));
    }
    return result;
}

}  // namespace kanade::music
