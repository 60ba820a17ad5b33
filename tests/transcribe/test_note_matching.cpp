#include "kanade/transcribe/note_matching.hpp"

#include <doctest/doctest.h>

using namespace kanade;
using transcribe::match_notes;

namespace {

midi::Note note(int pitch, double onset) {
    midi::Note n;
    n.pitch = static_cast<std::uint8_t>(pitch);
    n.start_seconds = onset;
    n.end_seconds = onset + 0.5;
    return n;
}

}  // namespace

TEST_CASE("notes match on pitch and onset within 50 ms, offsets ignored") {
    std::vector<midi::Note> reference = {note(60, 1.0), note(64, 2.0), note(67, 3.0)};
    std::vector<midi::Note> estimated = {note(60, 1.049), note(64, 2.06), note(66, 3.0), note(72, 4.0)};
    estimated[0].end_seconds = 9.0;
    auto scores = match_notes(reference, estimated);
    CHECK(scores.matched == 1);
    CHECK(scores.precision == doctest::Approx(0.25));
    CHECK(scores.recall == doctest::Approx(1.0 / 3));
    CHECK(scores.f1 == doctest::Approx(2 * 0.25 / 3 / (0.25 + 1.0 / 3)));
    CHECK(match_notes(reference, {note(60, 1.05)}).matched == 1);  // exactly the tolerance counts
}

TEST_CASE("the matching is maximal where a greedy one is not") {
    // Greedy (each reference takes its closest estimate) gives 1.03 to reference 1.00,
    // leaving reference 1.07, whose only candidate that was, with nothing; the maximum
    // matching pairs 1.00 with 0.96 and 1.07 with 1.03.
    std::vector<midi::Note> reference = {note(60, 1.00), note(60, 1.07)};
    std::vector<midi::Note> estimated = {note(60, 1.03), note(60, 0.96)};
    auto scores = match_notes(reference, estimated);
    CHECK(scores.matched == 2);
    CHECK(scores.f1 == doctest::Approx(1.0));

    // One estimate cannot serve two references.
    CHECK(match_notes({note(62, 1.0), note(62, 1.01)}, {note(62, 1.0)}).matched == 1);
}

TEST_CASE("empty lists score zero without dividing by zero") {
    auto none = match_notes({}, {});
    CHECK(none.f1 == 0);
    CHECK(match_notes({note(60, 0)}, {}).recall == 0);
    CHECK(match_notes({}, {note(60, 0)}).precision == 0);
}
