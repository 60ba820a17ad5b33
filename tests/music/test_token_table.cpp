// The token table: what each token of both tokenizers means, read once from its text.
#include "kanade/music/kanade_tokenizer.hpp"
#include "kanade/music/token_table.hpp"

#include <doctest/doctest.h>

using namespace kanade::music;

TEST_CASE("kanade tokens: pitch, duration, velocity and wait, each with its number") {
    Vocabulary vocabulary({"P60", "D4", "V8", "W2", "P200", "X"});
    TokenTable table(vocabulary, "kanade");
    REQUIRE(table.size() == 6);
    CHECK(table[0].kind == TokenKind::pitch);
    CHECK(table[0].pitches == std::vector<int>{60});
    CHECK(table[0].starts_note());
    CHECK(table[1].kind == TokenKind::duration);
    CHECK(table[1].steps == 4);
    CHECK(table[2].kind == TokenKind::velocity);
    CHECK(table[2].velocity_bin == 8);
    CHECK(table[2].velocity == KanadeTokenizer::bin_velocity(8));
    CHECK(table[3].kind == TokenKind::wait);
    CHECK(table[3].steps == 2);
    CHECK_FALSE(table[3].starts_note());
    CHECK(table[4].kind == TokenKind::other);  // no MIDI pitch 200
    CHECK(table[5].kind == TokenKind::other);
    CHECK(token_kind_name(table[1].kind) == "duration");
}

TEST_CASE("seed tokens: a named note is an onset with its octave, a chord an onset of pitch classes") {
    Vocabulary vocabulary({"E4", "4.7.11", "not a note"});
    TokenTable table(vocabulary, "seed");
    CHECK(table[0].kind == TokenKind::onset);
    CHECK(table[0].pitches == std::vector<int>{64});
    CHECK_FALSE(table[0].pitch_classes_only);
    CHECK(table[1].kind == TokenKind::onset);
    CHECK(table[1].pitches.size() == 3);
    CHECK(table[1].pitch_classes_only);
    CHECK(table[1].starts_note());
    CHECK(table[2].kind == TokenKind::other);
}

TEST_CASE("the fixed kanade vocabulary has no token the table cannot read") {
    auto vocabulary = *KanadeTokenizer().fixed_vocabulary();
    TokenTable table(vocabulary, "kanade");
    int others = 0;
    for (std::size_t id = 0; id < table.size(); ++id) others += table[static_cast<int>(id)].kind == TokenKind::other;
    CHECK(others <= 4);  // special tokens only, if any
}

TEST_CASE("the wait table writes a rest as the tokenizer does: the longest waits first") {
    TokenTable table(Vocabulary({"P60", "D4", "W1", "W3", "W16", "V5"}), "kanade");
    const auto& waits = table.waits();
    CHECK(waits.steps_of(3) == 3);
    CHECK(waits.steps_of(1) == 0);  // a duration moves no time
    CHECK(waits.id_of(16) == 4);
    CHECK(waits.id_of(2) == -1);
    CHECK(waits.longest_id(15) == 3);
    CHECK(waits.longest_id(0) == -1);
    CHECK(waits.rest(21) == std::vector<int>{4, 3, 2, 2});  // 16 + 3 + 1 + 1
    CHECK(waits.rest(0).empty());
    CHECK(TokenTable(Vocabulary({"C4", "4.7.11"}), "seed").waits().empty());
}
