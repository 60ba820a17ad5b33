// What came next one and two bars back: the candidates a lookback network is told.
#include "kanade/music/bar_lookback.hpp"
#include "kanade/music/kanade_tokenizer.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace kanade;

namespace {

const music::Vocabulary& vocabulary() {
    static const auto fixed = *music::KanadeTokenizer().fixed_vocabulary();
    return fixed;
}

int id(const std::string& token) { return *vocabulary().id_of(token); }
std::uint8_t told(const std::string& token) { return static_cast<std::uint8_t>(1 + id(token)); }

// The candidates after each token of `tokens`, fed in order from step 0.
std::vector<std::array<std::uint8_t, 2>> after_each(const std::vector<std::string>& tokens,
                                                    const music::MeterMap& meters) {
    music::BarLookback lookback(music::TokenTable(vocabulary(), "kanade"));
    std::vector<std::array<std::uint8_t, 2>> candidates;
    long step = 0;
    for (const auto& token : tokens) {
        if (auto wait = music::KanadeTokenizer::token_number(token, 'W')) step += *wait;
        lookback.feed(id(token), step, meters);
        candidates.push_back(lookback.candidates(meters));
    }
    return candidates;
}

}  // namespace

TEST_CASE("a bar played again: from its second time on, the lookback names every next token") {
    // A riff of four notes a bar, four times, its velocity said at the start only.
    std::vector<std::string> tokens = {"V5"};
    for (int bar = 0; bar < 4; ++bar)
        for (const char* pitch : {"P60", "P62", "P64", "P67"}) {
            if (tokens.size() > 1) tokens.push_back("W4");
            tokens.push_back(pitch);
            tokens.push_back("D2");
        }
    const auto candidates = after_each(tokens, music::MeterMap());
    long step = 0;
    int named = 0;
    for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
        if (auto wait = music::KanadeTokenizer::token_number(tokens[i], 'W')) step += *wait;
        CAPTURE(i);
        CAPTURE(step);
        if (step < 16) {
            CHECK(candidates[i][0] == 0);  // before the piece a bar back
        } else {
            CHECK(candidates[i][0] == told(tokens[i + 1]));
            ++named;
        }
        if (step < 32) CHECK(candidates[i][1] == 0);
        if (step >= 32) CHECK(candidates[i][1] == told(tokens[i + 1]));
    }
    CHECK(named == 35);  // bars 1 to 3, 12 tokens each, less the last
}

TEST_CASE("a velocity said in the repeat and not in the bar it repeats does not shift the copy") {
    // Step 0: two notes; a bar later the same two notes, louder.
    const std::vector<std::string> tokens = {"V5", "P60", "D2", "P64", "D2", "W16", "V7", "P60", "D2", "P64"};
    const auto candidates = after_each(tokens, music::MeterMap());
    CHECK(candidates[5][0] == told("P60"));  // after the wait: the bar began with P60
    CHECK(candidates[6][0] == told("P60"));  // the velocity changed nothing
    CHECK(candidates[7][0] == told("D2"));
    CHECK(candidates[8][0] == told("P64"));
    CHECK(candidates[9][0] == told("D2"));
}

TEST_CASE("where the bar back had no more on this step, the lookback names the wait that left it") {
    // Bar 0: notes on steps 0 and 8. Bar 1: on 16, then 20.
    const std::vector<std::string> tokens = {"P60", "D2", "W8", "P62", "D2", "W8", "P64", "D2", "W4", "P65", "D2"};
    const auto candidates = after_each(tokens, music::MeterMap());
    CHECK(candidates[5][0] == told("P60"));  // W8 to step 16: step 0 began with P60
    CHECK(candidates[6][0] == told("D2"));
    CHECK(candidates[7][0] == told("W8"));  // step 0 had no third token: it waited 8
    CHECK(candidates[8][0] == told("W4"));  // step 4 was silent: 4 more to the note on 8
    CHECK(candidates[10][0] == told("W4"));
    // A gap longer than the longest wait is named by the longest wait, as it was written.
    const auto long_gap = after_each({"P60", "D2", "W16", "W16", "P62", "D2"}, music::MeterMap());
    CHECK(long_gap[5][1] == told("W16"));  // two bars back: step 0, then 32 steps of silence
    CHECK(long_gap[5][0] == told("W16"));  // one bar back, step 16 was silent, 16 steps to the next note
}

TEST_CASE("a bar of 3/4 is 12 steps back") {
    const std::vector<std::string> tokens = {"P60", "D2", "W12", "P60", "D2"};
    const auto waltz = after_each(tokens, music::MeterMap::uniform(3, 4));
    CHECK(waltz[2][0] == told("P60"));
    const auto common = after_each(tokens, music::MeterMap());
    CHECK(common[2][0] == 0);  // 16 steps back is before the piece
}

TEST_CASE("a vocabulary without waits (the seed tokens) is never told a lookback") {
    music::BarLookback lookback(music::TokenTable(music::Vocabulary({"C4", "E4", "4.7.11"}), "seed"));
    for (long step = 0; step < 64; step += 4) lookback.feed(0, step, music::MeterMap());
    CHECK(lookback.candidate(1, music::MeterMap()) == 0);
}
