// Prompts from files end on one of the file's bar lines, so the music that follows them
// starts on a bar line of the daemon's grid: a last wait that passes the bar line is cut
// there, one that lands on it is kept, bars of any meter count.
#include "kanade/music/file_prompt.hpp"

#include "kanade/music/kanade_tokenizer.hpp"
#include "kanade/music/seed_tokenizer.hpp"

#include <doctest/doctest.h>

#include <random>

using namespace kanade;

namespace {

// `bars` bars of `beats` quarter notes, a note on the beats listed (0: the downbeat).
music::CorpusFile piece(int bars, int beats, std::vector<int> on_beats) {
    music::CorpusFile file;
    file.path = "piece.mid";
    file.meters = {midi::Meter{0, beats, 4}};
    for (int bar = 0; bar < bars; ++bar)
        for (int beat : on_beats) {
            midi::Note note;
            note.start_beat = bar * beats + beat;
            note.end_beat = note.start_beat + 0.5;
            note.pitch = static_cast<std::uint8_t>(50 + bar % 12);
            file.notes.push_back(note);
        }
    return file;
}

music::TokenizedFile tokenized(const music::CorpusFile& file, const music::Tokenizer& tokenizer) {
    music::Corpus corpus;
    corpus.files = {file};
    return music::tokenize_corpus(corpus, tokenizer).files.front();
}

const music::TokenTable& kanade_table() {
    static const music::TokenTable table(*music::KanadeTokenizer().fixed_vocabulary(), "kanade");
    return table;
}

// Where time stands after the prompt, on the file's grid: its first token's step plus
// what the prompt moves.
long end_step(const music::TokenizedFile& file, music::TokenRange range, const music::PromptTokens& prompt) {
    return file.steps[range.begin] + music::token_steps(prompt.ids, kanade_table(), 4).back() -
           music::token_steps({prompt.ids.front()}, kanade_table(), 4).back();
}

}  // namespace

TEST_CASE("a prompt's last wait that passes a bar line is cut there, one that lands on it is kept") {
    for (int beats : {4, 3}) {
        CAPTURE(beats);
        const int bar_steps = beats * 4;
        // Beats 1 and 2 only: from beat 2 the rest runs past the bar line to the next bar's beat 1.
        const auto passing = tokenized(piece(8, beats, {1, 2}), music::KanadeTokenizer());
        const auto ends = music::prompt_ends(passing, kanade_table(), 6);
        REQUIRE(ends.size() >= 6);
        for (auto end : ends) {
            const music::TokenRange range{end - 6, end};
            const auto prompt = music::prompt_tokens(passing, kanade_table(), range);
            REQUIRE(prompt.ids.size() == prompt.conditions.size());
            CHECK(end_step(passing, range, prompt) % bar_steps == 0);  // on a bar line
            CHECK(music::on_bar_line(prompt.conditions.back()));
            // Cut short: in the file the rest went on to the next bar's beat 1.
            CHECK(kanade_table()[prompt.ids.back()].steps < kanade_table()[passing.ids[end - 1]].steps);
        }
        // A note on every downbeat: the waits land on the bar lines and stay whole.
        const auto landing = tokenized(piece(8, beats, {0, 1}), music::KanadeTokenizer());
        const auto landing_ends = music::prompt_ends(landing, kanade_table(), 4);
        REQUIRE(landing_ends.size() >= 6);
        for (auto end : landing_ends) {
            const auto prompt = music::prompt_tokens(landing, kanade_table(), {end - 4, end});
            CHECK(prompt.ids == std::vector<int>(landing.ids.begin() + static_cast<long>(end - 4),
                                                 landing.ids.begin() + static_cast<long>(end)));
            CHECK(end_step(landing, {end - 4, end}, prompt) % bar_steps == 0);
        }
    }
}

TEST_CASE("a file opens a session with its first bar line past a window's worth of tokens") {
    const auto file = tokenized(piece(8, 4, {1, 2}), music::KanadeTokenizer());
    const auto range = music::opening_prompt(file, kanade_table(), 10);
    CHECK(range.end - range.begin == 10);
    CHECK(range.end == music::prompt_ends(file, kanade_table(), 10).front());
    // Shorter than a window, or reaching no bar line: its first tokens as they are.
    const auto short_range = music::opening_prompt(file, kanade_table(), 1000);
    CHECK(short_range.begin == 0);
    CHECK(short_range.end == file.ids.size());
}

TEST_CASE("a random prompt ends on a bar line, and seed tokens (which carry no bar) end anywhere") {
    const auto file = tokenized(piece(8, 4, {1, 2}), music::KanadeTokenizer());
    const std::vector files{file};
    const music::PromptPicker picker(files, kanade_table(), 6);
    std::mt19937_64 random(4);
    for (int draw = 0; draw < 20; ++draw) {
        const auto chosen = picker.draw(random);
        REQUIRE(chosen);
        CHECK(chosen->range.end - chosen->range.begin == 6);
        CHECK(music::bar_line_reached(file, kanade_table(), chosen->range.end - 1));
    }
    CHECK_FALSE(music::PromptPicker(files, kanade_table(), file.ids.size() + 1).draw(random));

    const music::SeedTokenizer seed_tokenizer;
    music::Corpus corpus;
    corpus.files = {piece(8, 4, {1, 2})};
    const auto seed = music::tokenize_corpus(corpus, seed_tokenizer);
    const music::TokenTable seed_table(seed.vocabulary, "seed");
    const auto& seed_file = seed.files.front();
    CHECK(music::prompt_ends(seed_file, seed_table, 4).size() == seed_file.ids.size() - 3);
}
