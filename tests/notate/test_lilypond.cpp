#include "kanade/notate/lilypond.hpp"
#include "kanade/util/run_program.hpp"

#include "test_paths.hpp"
#include "skip.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

using kanade::midi::Note;
using kanade::notate::lilypond_pitch;
using kanade::notate::LilypondOptions;
using kanade::notate::to_lilypond;

namespace {

Note note(double start_beat, double end_beat, int pitch) {
    Note n;
    n.start_beat = start_beat;
    n.end_beat = end_beat;
    n.start_seconds = start_beat / 2;
    n.end_seconds = end_beat / 2;
    n.pitch = static_cast<std::uint8_t>(pitch);
    return n;
}

// The music of one staff ("upper" or "lower") with whitespace squeezed to single
// spaces: what follows the clef (and tempo) line, up to the final bar line.
std::string staff(const std::string& source, const std::string& name) {
    auto begin = source.find(name + " = {");
    REQUIRE(begin != std::string::npos);
    auto end = source.find("\\bar \"|.\"", begin);
    REQUIRE(end != std::string::npos);
    std::istringstream in(source.substr(begin, end - begin));
    std::string token, music;
    while (in >> token) {
        if (token == name || token == "=" || token == "{") continue;
        if (token == "\\clef") {
            in >> token;
            continue;
        }
        if (token == "\\tempo") {
            in >> token >> token >> token;
            continue;
        }
        if (!music.empty()) music += ' ';
        music += token;
    }
    return music;
}

std::string upper(const std::vector<Note>& notes, const LilypondOptions& options = {}) {
    return staff(to_lilypond(notes, options), "upper");
}
std::string lower(const std::vector<Note>& notes, const LilypondOptions& options = {}) {
    return staff(to_lilypond(notes, options), "lower");
}

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
    return n;
}

}  // namespace

TEST_CASE("LilyPond absolute pitch names") {
    CHECK(lilypond_pitch(60) == "c'");
    CHECK(lilypond_pitch(61) == "cis'");
    CHECK(lilypond_pitch(59) == "b");
    CHECK(lilypond_pitch(48) == "c");
    CHECK(lilypond_pitch(47) == "b,");
    CHECK(lilypond_pitch(72) == "c''");
    CHECK(lilypond_pitch(21) == "a,,,");
    CHECK(lilypond_pitch(127) == "g''''''");
    CHECK(lilypond_pitch(0) == "c,,,,");
    CHECK(lilypond_pitch(61, true) == "des'");
    CHECK(lilypond_pitch(70, true) == "bes'");
    CHECK_THROWS_AS(lilypond_pitch(128), std::invalid_argument);
}

TEST_CASE("a quarter and an eighth, the rest of the bar as rests") {
    std::vector<Note> notes = {note(0, 1, 60), note(1, 1.5, 64)};
    CHECK(upper(notes) == "c'4 e'8 r8 r2 |");
    CHECK(lower(notes) == "R1 |");
}

TEST_CASE("notes starting together form a chord") {
    std::vector<Note> notes = {note(0, 2, 67), note(0, 2, 60), note(0, 2, 64)};
    CHECK(upper(notes) == "<c' e' g'>2 r2 |");
}

TEST_CASE("a gap becomes a rest") {
    CHECK(upper({note(1, 2, 60)}) == "r4 c'4 r2 |");
    CHECK(upper({note(0, 1, 60), note(2, 3, 62)}) == "c'4 r4 d'4 r4 |");
}

TEST_CASE("a note across the bar line is tied at the bar line") {
    CHECK(upper({note(3, 5, 60)}) == "r2 r4 c'4~ | c'4 r4 r2 |");
    CHECK(upper({note(2, 6, 60), note(2, 6, 64)}) == "r2 <c' e'>2~ | <c' e'>2 r2 |");
}

TEST_CASE("a length that is no single value is written as tied notes") {
    // five 16ths: a quarter tied to a 16th, then the rests find the beat again
    CHECK(upper({note(0, 1.25, 60)}) == "c'4~ c'16 r16 r8 r2 |");
    // seven 16ths from the start: a dotted quarter and a 16th
    CHECK(upper({note(0, 1.75, 60)}) == "c'4.~ c'16 r16 r2 |");
    // a syncopation inside the beat
    CHECK(upper({note(0.25, 0.75, 60)}) == "r16 c'8 r16 r4 r2 |");
    // ... but not across it
    CHECK(upper({note(0.75, 1.25, 60)}) == "r8 r16 c'16~ c'16 r16 r8 r2 |");
    // a whole bar and a quarter
    CHECK(upper({note(0, 5, 72)}) == "c''1~ | c''4 r4 r2 |");
    // a note from the second beat may fill the bar
    CHECK(upper({note(1, 4, 60)}) == "r4 c'2. |");
}

TEST_CASE("notes below middle C go to the bass staff") {
    std::vector<Note> notes = {note(0, 1, 48), note(0, 1, 59), note(1, 2, 60)};
    CHECK(lower(notes) == "<c b>4 r4 r2 |");
    CHECK(upper(notes) == "r4 c'4 r2 |");
}

TEST_CASE("a note is cut at the next onset in its staff") {
    CHECK(upper({note(0, 4, 60), note(1, 2, 64)}) == "c'4 e'4 r2 |");
    // a shorter note in the chord does not shorten it: the longest one counts
    CHECK(upper({note(0, 1, 60), note(0, 2, 64)}) == "<c' e'>2 r2 |");
}

TEST_CASE("onsets and ends are quantised to 16th notes") {
    CHECK(upper({note(0.02, 0.98, 60), note(1.01, 1.49, 62)}) == "c'4 d'8 r8 r2 |");
    // a grace-note length still lasts one step
    CHECK(upper({note(0, 0.01, 60)}) == "c'16 r16 r8 r4 r2 |");
}

TEST_CASE("other time signatures") {
    LilypondOptions three_four;
    three_four.time_numerator = 3;
    three_four.time_denominator = 4;
    CHECK(upper({note(0, 3, 60), note(3, 4, 62)}, three_four) == "c'2. | d'4 r2 |");
    CHECK(lower({note(0, 3, 60)}, three_four) == "R2. |");
    CHECK(to_lilypond({}, three_four).find("\\time 3/4") != std::string::npos);

    LilypondOptions six_eight;
    six_eight.time_numerator = 6;
    six_eight.time_denominator = 8;
    CHECK(upper({note(0, 1.5, 60), note(1.5, 3, 62)}, six_eight) == "c'4. d'4. |");
    CHECK(upper({note(1.5, 3, 62)}, six_eight) == "r4. d'4. |");
    CHECK(upper({note(0, 0.5, 62)}, six_eight) == "d'8 r8 r8 r4. |");
    CHECK(upper({note(0, 1.5, 62)}, six_eight) == "d'4. r4. |");

    CHECK(upper({note(0.5, 1.5, 62)}, six_eight) == "r8 d'4 r4. |");

    LilypondOptions twelve_eight;
    twelve_eight.time_numerator = 12;
    twelve_eight.time_denominator = 8;
    CHECK(upper({note(0, 1.5, 62)}, twelve_eight) == "d'4. r4. r2. |");
    CHECK(upper({note(0, 3, 62)}, twelve_eight) == "d'2. r2. |");

    LilypondOptions five_four;
    five_four.time_numerator = 5;
    CHECK(lower({note(0, 5, 60)}, five_four) == "R1*5/4 |");
}

TEST_CASE("long pieces are cut at max_bars, and the score says so") {
    std::vector<Note> notes;
    for (int beat = 0; beat < 40; ++beat) notes.push_back(note(beat, beat + 1, 60 + beat % 12));
    LilypondOptions options;
    options.max_bars = 4;
    auto engraving = kanade::notate::engrave(notes, options);
    CHECK(engraving.bars == 4);
    CHECK(engraving.total_bars == 10);
    CHECK(engraving.truncated());
    CHECK(engraving.notes == 16);
    CHECK(count(staff(engraving.source, "upper"), "|") == 4);
    CHECK(engraving.source.find("first 4 of 10 bars") != std::string::npos);

    options.max_bars = 64;
    auto whole = kanade::notate::engrave(notes, options);
    CHECK_FALSE(whole.truncated());
    CHECK(whole.bars == 10);
    CHECK(whole.source.find("first") == std::string::npos);
}

TEST_CASE("header, key and tempo") {
    LilypondOptions options;
    options.title = "Song \"one\" \\ two";
    options.tempo_bpm = 96.4;
    options.key_fifths = -3;
    auto source = to_lilypond({note(0, 1, 63)}, options);
    CHECK(source.rfind("\\version \"2.24.0\"", 0) == 0);
    CHECK(source.find("title = \"Song \\\"one\\\" \\\\ two\"") != std::string::npos);
    CHECK(source.find("\\tempo 4 = 96") != std::string::npos);
    CHECK(source.find("\\key ees \\major") != std::string::npos);
    CHECK(upper({note(0, 1, 63)}, options) == "ees'4 r4 r2 |");

    options.key_fifths = 3;
    options.minor = true;
    CHECK(to_lilypond({}, options).find("\\key fis \\minor") != std::string::npos);
    CHECK(to_lilypond({}).find("\\tempo") == std::string::npos);
}

TEST_CASE("an empty piece is a bar of rest") {
    CHECK(upper({}) == "R1 |");
    CHECK(lower({}) == "R1 |");
}

TEST_CASE("options that cannot be notated are refused") {
    LilypondOptions options;
    options.time_denominator = 3;
    CHECK_THROWS_AS(to_lilypond({}, options), std::invalid_argument);
    options = {};
    options.key_fifths = 8;
    CHECK_THROWS_AS(to_lilypond({}, options), std::invalid_argument);
    options = {};
    options.max_bars = 0;
    CHECK_THROWS_AS(to_lilypond({}, options), std::invalid_argument);
}

TEST_CASE("notate writes the .ly and reports a missing lilypond") {
    kanade::test::TemporaryFolder folder;
    std::vector<Note> notes = {note(0, 1, 60), note(1, 2, 64)};
    kanade::notate::LilypondOptions options;
    options.title = "Test";

    auto skipped = kanade::notate::notate(notes, folder / "song", options, false);
    CHECK(skipped.status == kanade::notate::NotationStatus::not_asked);
    CHECK(skipped.ly == folder.path() / "song.ly");
    REQUIRE(std::filesystem::exists(skipped.ly));
    std::ifstream in(skipped.ly);
    std::string written((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(written == to_lilypond(notes, options));
    CHECK_FALSE(skipped.pdf);

    kanade::notate::EngraveProgram missing;
    missing.lilypond = "kanade-no-such-lilypond";
    auto unavailable = kanade::notate::notate(notes, folder / "other.ly", options, true, missing);
    CHECK(unavailable.status == kanade::notate::NotationStatus::unavailable);
    CHECK(unavailable.ly == folder.path() / "other.ly");
    CHECK(std::filesystem::exists(unavailable.ly));
    CHECK(unavailable.message.find("apt-get install lilypond") != std::string::npos);
    CHECK_FALSE(unavailable.pdf);
}

TEST_CASE("lilypond engraves the score without warnings") {
    if (!kanade::util::program_available("lilypond")) {
        kanade::test::skip("lilypond", "lilypond is not installed");
        return;
    }
    kanade::test::TemporaryFolder folder;
    // Chords, ties over bar lines, odd lengths, both staves, a cut at max_bars.
    std::vector<Note> notes;
    for (int i = 0; i < 48; ++i) {
        double start = i * 0.75;
        notes.push_back(note(start, start + 0.5 + (i % 5) * 0.25, 55 + (i * 7) % 24));
        if (i % 4 == 0) notes.push_back(note(start, start + 2.25, 40 + i % 12));
    }
    LilypondOptions options;
    options.title = "kanade test";
    options.tempo_bpm = 120;
    options.max_bars = 6;
    auto result = kanade::notate::notate(notes, folder / "score with space", options);
    INFO(result.message);
    REQUIRE(result.status == kanade::notate::NotationStatus::rendered);
    REQUIRE(result.pdf);
    CHECK(std::filesystem::file_size(*result.pdf) > 1000);
    REQUIRE(result.png);
    CHECK(std::filesystem::file_size(*result.png) > 1000);
    CHECK(result.message.find("arning") == std::string::npos);
    CHECK(result.message.find("rror") == std::string::npos);
}
