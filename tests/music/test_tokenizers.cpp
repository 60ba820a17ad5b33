#include "kanade/music/kanade_tokenizer.hpp"
#include "kanade/music/seed_tokenizer.hpp"

#include <doctest/doctest.h>

using namespace kanade;
using namespace kanade::music;

namespace {

midi::Note note(double start, double length, int pitch, int velocity = 90) {
    midi::Note n;
    n.start_beat = start;
    n.end_beat = start + length;
    n.pitch = static_cast<std::uint8_t>(pitch);
    n.velocity = static_cast<std::uint8_t>(velocity);
    return n;
}

using Tokens = std::vector<std::string>;

}  // namespace

TEST_CASE("seed tokens: a note is its name, a chord its pitch classes in normal order") {
    SeedTokenizer tokenizer;
    std::vector<midi::Note> notes = {
        note(0, 1, 64),                                       // E4
        note(1, 1, 64),   note(1, 1, 67), note(1, 2, 71),     // E minor: 4.7.11
        note(2, 0.5, 58),                                     // B-3
        note(3, 1, 67),   note(3, 1, 71), note(3.01, 1, 74),  // G major, onsets within a step
        note(4, 1, 60),   note(4, 1, 72),                     // octave: one class
        note(5, 1, 62),   note(5, 1, 62),                     // doubled: one note
    };
    CHECK(tokenizer.encode(notes) == Tokens{"E4", "4.7.11", "B-3", "7.11.2", "0", "D4"});
}

TEST_CASE("seed tokens decode to quarter notes, chords in octave 4") {
    SeedTokenizer tokenizer;
    auto notes = tokenizer.decode({"E4", "4.7.11", "bogus", "B-3"});
    REQUIRE(notes.size() == 5);
    CHECK(notes[0].pitch == 64);
    CHECK(notes[0].start_beat == 0);
    CHECK(notes[0].end_beat == 1);
    CHECK(notes[1].pitch == 64);
    CHECK(notes[2].pitch == 67);
    CHECK(notes[3].pitch == 71);
    CHECK(notes[3].start_beat == 1);
    CHECK(notes[4].pitch == 58);
    CHECK(notes[4].start_beat == 3);  // the malformed token still took its beat
}

TEST_CASE("kanade tokens keep octave, timing, duration and dynamics") {
    KanadeTokenizer tokenizer;
    std::vector<midi::Note> bar = {note(0, 1, 60), note(1, 1, 64), note(2, 1, 67), note(3, 1, 72)};
    CHECK(tokenizer.encode(bar) == Tokens{"V6", "P60", "D4", "W4", "P64", "D4", "W4", "P67", "D4", "W4", "P72", "D4"});

    std::vector<midi::Note> phrase = {
        note(0, 0.25, 72, 40), note(0, 2, 60, 40),  // chord: highest first, one dynamics mark
        note(0.5, 0.5, 74, 120),                    // louder
        note(6, 0.75, 76, 120),                     // after a rest of 22 steps: W16 W6
    };
    CHECK(tokenizer.encode(phrase) ==
          Tokens{"V3", "P72", "D1", "P60", "D8", "W2", "V8", "P74", "D2", "W16", "W6", "P76", "D3"});
}

TEST_CASE("kanade tokens decode back to the same notes") {
    KanadeTokenizer tokenizer;
    std::vector<midi::Note> notes = {note(0, 0.5, 72, 100), note(0, 1, 48, 100), note(1.25, 3, 67, 50),
                                     note(9, 12, 30, 20)};
    auto decoded = tokenizer.decode(tokenizer.encode(notes));
    REQUIRE(decoded.size() == notes.size());
    // Decoding orders chord notes highest first, as they were written.
    std::vector<std::size_t> expected_order = {0, 1, 2, 3};
    for (std::size_t i = 0; i < decoded.size(); ++i) {
        const auto& original = notes[expected_order[i]];
        CAPTURE(i);
        CHECK(decoded[i].pitch == original.pitch);
        CHECK(decoded[i].start_beat == doctest::Approx(original.start_beat));
        CHECK(decoded[i].end_beat == doctest::Approx(original.end_beat));
        CHECK(KanadeTokenizer::velocity_bin(decoded[i].velocity) == KanadeTokenizer::velocity_bin(original.velocity));
    }
}

TEST_CASE("kanade tokens: out-of-range pitches fold into the piano, odd durations snap") {
    KanadeTokenizer tokenizer;
    auto tokens = tokenizer.encode({note(0, 1.75, 12), note(1, 0.25, 120)});
    CHECK(tokens == Tokens{"V6", "P24", "D6", "W4", "P108", "D1"});  // 7 steps snap to 6
    CHECK(KanadeTokenizer::nearest_duration(5) == 4);
    CHECK(KanadeTokenizer::nearest_duration(100) == 48);
}

TEST_CASE("kanade vocabulary is fixed and covers every token the encoder writes") {
    KanadeTokenizer tokenizer;
    auto vocabulary = *tokenizer.fixed_vocabulary();
    CHECK(vocabulary.size() == 16 + 8 + 88 + 12);
    std::vector<midi::Note> notes;
    for (int i = 0; i < 200; ++i) notes.push_back(note(i * 0.75, 0.25 * (1 + i % 40), i % 128, i % 128));
    std::size_t skipped = 1;
    vocabulary.encode(tokenizer.encode(notes), &skipped);
    CHECK(skipped == 0);
}

TEST_CASE("note events count onsets the same way for both tokenizers") {
    std::vector<midi::Note> notes = {note(0, 1, 60), note(0, 1, 64), note(1, 1, 67), note(3, 1, 72)};
    SeedTokenizer seed;
    KanadeTokenizer kanade;
    CHECK(seed.count_note_events(seed.encode(notes)) == 3);
    CHECK(kanade.count_note_events(kanade.encode(notes)) == 3);
}

TEST_CASE("the token reader streams notes as D tokens complete them") {
    KanadeTokenReader reader;
    CHECK_FALSE(reader.feed("V8"));
    CHECK_FALSE(reader.feed("P60"));
    auto first = reader.feed("D4");
    REQUIRE(first);
    CHECK(first->velocity == 120);
    CHECK(first->end_beat == doctest::Approx(1.0));
    CHECK_FALSE(reader.feed("D4"));  // a duration with no note is ignored
    CHECK_FALSE(reader.feed("W3"));
    CHECK(reader.current_step() == 3);
    CHECK_FALSE(reader.feed("P62"));
    auto second = reader.feed("D1");
    REQUIRE(second);
    CHECK(second->start_beat == doctest::Approx(0.75));
}

TEST_CASE("unknown tokenizer names are refused") {
    CHECK_THROWS_WITH_AS(make_tokenizer("remi"), doctest::Contains("remi"), std::invalid_argument);
    CHECK(make_tokenizer("seed")->name() == "seed");
}
