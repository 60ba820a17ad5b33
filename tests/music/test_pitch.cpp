#include "kanade/music/pitch.hpp"

#include <doctest/doctest.h>

using namespace kanade::music;

TEST_CASE("pitch names follow music21's spelling") {
    CHECK(pitch_name(60) == "C4");
    CHECK(pitch_name(61) == "C#4");
    CHECK(pitch_name(63) == "E-4");
    CHECK(pitch_name(64) == "E4");
    CHECK(pitch_name(70) == "B-4");
    CHECK(pitch_name(21) == "A0");
    CHECK(pitch_name(0) == "C-1");
    CHECK(pitch_name(127) == "G9");
}

TEST_CASE("pitch names parse back, flats and sharps alike") {
    // Octave -1 ("C-1") reads as a flat in music21's spelling; those pitches never occur.
    for (int pitch = 12; pitch < 128; ++pitch) CHECK(parse_pitch_name(pitch_name(pitch)) == pitch);
    CHECK(parse_pitch_name("Db4") == 61);
    CHECK(parse_pitch_name("B-3") == 58);
    CHECK_FALSE(parse_pitch_name("H4"));
    CHECK_FALSE(parse_pitch_name("C"));
    CHECK_FALSE(parse_pitch_name("C4x"));
    CHECK_FALSE(parse_pitch_name(""));
}

TEST_CASE("normal order of pitch-class sets") {
    CHECK(normal_order({64, 67, 71}) == std::vector<int>{4, 7, 11});         // E minor
    CHECK(normal_order({67, 71, 74}) == std::vector<int>{7, 11, 2});         // G major wraps
    CHECK(normal_order({72, 65, 69}) == std::vector<int>{5, 9, 0});          // F major, any order
    CHECK(normal_order({60, 72, 64, 76}) == std::vector<int>{0, 4});         // octaves collapse
    CHECK(normal_order({62, 65, 69, 72}) == std::vector<int>{9, 0, 2, 5});   // D minor seventh: span 8
    CHECK(normal_order({67, 71, 74, 77}) == std::vector<int>{11, 2, 5, 7});  // G dominant seventh
    CHECK(normal_order({60, 64, 67, 71}) ==
          std::vector<int>{11, 0, 4, 7});  // C major seventh: tie on span 8, then 11->4 < 4->11
    CHECK(normal_order({60, 63, 67, 70}) == std::vector<int>{7, 10, 0, 3});  // C minor seventh
    CHECK(normal_order({60, 61, 62}) == std::vector<int>{0, 1, 2});
    CHECK(normal_order({60, 64, 68}) == std::vector<int>{0, 4, 8});  // symmetric: lowest first
    CHECK(normal_order({61}) == std::vector<int>{1});
    CHECK(normal_order({}).empty());
}
