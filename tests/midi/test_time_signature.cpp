#include "kanade/midi/time_signature.hpp"

#include <doctest/doctest.h>

using namespace kanade::midi;

TEST_CASE("the time signature at the start is the last one written at tick 0") {
    File file;
    file.tracks.resize(2);
    CHECK(!time_signature_at_start(file));
    file.tracks[0].events = {Event::time_signature(0, 1, 8), Event::time_signature(0, 3, 4),
                             Event::time_signature(960, 6, 8)};
    CHECK(time_signature_at_start(file) == TimeSignature{3, 4});  // a placeholder, then the real one
    file.tracks[1].events = {Event::time_signature(0, 12, 8)};
    CHECK(time_signature_at_start(file) == TimeSignature{12, 8});
    file.tracks[0].events = {Event::time_signature(480, 5, 4)};
    file.tracks[1].events.clear();
    CHECK(!time_signature_at_start(file));  // only later
}
