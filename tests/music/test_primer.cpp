// Primers: bars of training music a session with no prompt starts from. They must span
// whole bars exactly from a bar line, hold the notes of those bars, and keep one meter.
#include "kanade/music/primer.hpp"

#include "kanade/music/kanade_tokenizer.hpp"
#include "kanade/music/token_table.hpp"

#include <doctest/doctest.h>

using namespace kanade;

namespace {

// A piece of `bars` bars of `beats` quarter notes, a note on every beat but the first of
// each bar, whose pitch says its bar (40 + bar + transpose).
music::CorpusFile piece(const std::string& name, int bars, int beats = 4, int transpose = 0) {
    music::CorpusFile file;
    file.path = name;
    file.split = music::Split::train;
    file.meters = {midi::Meter{0, beats, 4}};
    for (int bar = 0; bar < bars; ++bar)
        for (int beat = 1; beat < beats; ++beat) {
            midi::Note note;
            note.start_beat = bar * beats + beat;
            note.end_beat = note.start_beat + 0.5;
            note.pitch = static_cast<std::uint8_t>(40 + bar + transpose);
            file.notes.push_back(note);
        }
    return file;
}

const music::Vocabulary& vocabulary() {
    static const auto fixed = *music::KanadeTokenizer().fixed_vocabulary();
    return fixed;
}

std::vector<std::string> texts(const std::vector<int>& ids) {
    std::vector<std::string> tokens;
    for (int id : ids) tokens.push_back(vocabulary().token(id));
    return tokens;
}

}  // namespace

TEST_CASE("a primer is whole bars from a bar line, with those bars' notes where they were") {
    const auto primer = music::primer_from(piece("a.mid", 12), vocabulary(), 3, 4, 4);
    CHECK(primer.bar_steps == 16);
    REQUIRE(!primer.ids.empty());
    const music::TokenTable table(vocabulary(), "kanade");
    CHECK(music::token_steps(primer.ids, table, 4).back() == 4 * 16);  // time moves by four bars exactly
    const auto notes = music::KanadeTokenizer().decode(texts(primer.ids));
    REQUIRE(notes.size() == 4 * 3);
    for (std::size_t i = 0; i < notes.size(); ++i) {
        CAPTURE(i);
        const int bar = static_cast<int>(i / 3);
        CHECK(notes[i].pitch == 43 + bar);                                   // bars 3..6 of the piece
        CHECK(notes[i].start_beat == doctest::Approx(bar * 4 + 1 + i % 3));  // on their beats, the bar lines kept
    }
}

TEST_CASE("a primer keeps its piece's meter and refuses a stretch that changes it") {
    const auto waltz = music::primer_from(piece("waltz.mid", 10, 3), vocabulary(), 2, 4, 4);
    CHECK(waltz.bar_steps == 12);
    const music::TokenTable table(vocabulary(), "kanade");
    CHECK(music::token_steps(waltz.ids, table, 4).back() == 4 * 12);

    auto changing = piece("changing.mid", 12);
    changing.meters.push_back(midi::Meter{20, 3, 4});  // 3/4 from bar 5 on
    CHECK(music::primer_from(changing, vocabulary(), 3, 4, 4).ids.empty());
    CHECK(!music::primer_from(changing, vocabulary(), 0, 4, 4).ids.empty());              // bars 0..3 are 4/4
    CHECK(music::primer_from(piece("short.mid", 3), vocabulary(), 1, 4, 4).ids.empty());  // past the end
}

TEST_CASE("primers come from different training files, the same ones every time, never other splits") {
    music::Corpus corpus;
    for (int i = 0; i < 6; ++i) corpus.files.push_back(piece("train" + std::to_string(i) + ".mid", 12, 4, i));
    auto held_out = piece("valid.mid", 40, 4, 50);  // pitches 90 and up
    held_out.split = music::Split::valid;
    corpus.files.insert(corpus.files.begin(), held_out);
    music::PrimerOptions options;
    options.count = 3;
    const auto primers = music::choose_primers(corpus, vocabulary(), options);
    REQUIRE(primers.size() == 3);
    CHECK(primers == music::choose_primers(corpus, vocabulary(), options));
    for (std::size_t a = 0; a < primers.size(); ++a)
        for (std::size_t b = a + 1; b < primers.size(); ++b) CHECK(primers[a] != primers[b]);
    for (const auto& primer : primers)
        for (const auto& note : music::KanadeTokenizer().decode(texts(primer.ids))) CHECK(note.pitch < 90);
    options.count = 10;  // more than there are training files: one each
    CHECK(music::choose_primers(corpus, vocabulary(), options).size() == 6);
}
