#include "kanade/midi/smf.hpp"

#include "test_paths.hpp"

#include <doctest/doctest.h>

#include <fstream>

using namespace kanade::midi;

namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes header(std::uint16_t format, std::uint16_t tracks, std::uint16_t division = 480) {
    return {'M',
            'T',
            'h',
            'd',
            0,
            0,
            0,
            6,
            static_cast<std::uint8_t>(format >> 8),
            static_cast<std::uint8_t>(format),
            static_cast<std::uint8_t>(tracks >> 8),
            static_cast<std::uint8_t>(tracks),
            static_cast<std::uint8_t>(division >> 8),
            static_cast<std::uint8_t>(division)};
}

Bytes chunk(const char* id, const Bytes& body, std::uint32_t declared_length) {
    Bytes out(id, id + 4);
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(declared_length >> shift));
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

Bytes track(const Bytes& body) { return chunk("MTrk", body, static_cast<std::uint32_t>(body.size())); }

Bytes operator+(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// A format 0 file of one track; the track body starts at byte 22.
Bytes single_track(const Bytes& body) { return header(0, 1) + track(body); }

const Bytes end_of_track = {0x00, 0xFF, 0x2F, 0x00};

ReadResult parse(const Bytes& bytes, const ReadLimits& limits = {}) { return parse_smf(bytes, "test.mid", limits); }

// Parses bytes that must fail; returns the error for its message and offset.
SmfError parse_error(const Bytes& bytes, const ReadLimits& limits = {}) {
    try {
        parse(bytes, limits);
    } catch (const SmfError& error) {
        return error;
    }
    FAIL("parse_smf accepted bytes it should have rejected");
    return SmfError("", 0, "");
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

bool any_warning(const ReadResult& result, const std::string& part) {
    for (const auto& warning : result.warnings) {
        if (contains(warning, part)) return true;
    }
    return false;
}

}  // namespace

TEST_CASE("parse_smf decodes running status") {
    auto bytes = single_track({0x00, 0x90, 0x3C, 0x64,  // note on C4
                               0x10, 0x3E, 0x65,        // running status: note on D4
                               0x10, 0x80, 0x3C, 0x40,  // note off C4
                               0x00, 0x3E, 0x41,        // running status: note off D4
                               0x00, 0xC1, 0x05,        // program change, one data byte
                               0x00, 0x06,              // running status with one data byte
                               0x00, 0xFF, 0x2F, 0x00});
    auto result = parse(bytes);
    CHECK(result.warnings.empty());
    REQUIRE(result.file.tracks.size() == 1);
    const auto& events = result.file.tracks[0].events;
    REQUIRE(events.size() == 7);
    CHECK(events[0] == Event::note_on(0, 0, 60, 100));
    CHECK(events[1] == Event::note_on(16, 0, 62, 101));
    CHECK(events[2].tick == 32);
    CHECK(events[2].status == 0x80);
    CHECK(events[2].data == Bytes{0x3C, 0x40});
    CHECK(events[3].status == 0x80);
    CHECK(events[3].data == Bytes{0x3E, 0x41});
    CHECK(events[4] == Event::program_change(32, 1, 5));
    CHECK(events[5] == Event::program_change(32, 1, 6));
    CHECK(events[6] == Event::end_of_track(32));
    CHECK(result.file.format == 0);
    CHECK_FALSE(result.file.division.smpte);
    CHECK(result.file.division.ticks_per_quarter == 480);
}

TEST_CASE("parse_smf decodes variable-length delta times") {
    struct Case {
        Bytes vlq;
        std::uint64_t value;
    };
    const Case cases[] = {{{0x00}, 0},
                          {{0x7F}, 0x7F},
                          {{0x81, 0x00}, 0x80},
                          {{0xFF, 0x7F}, 0x3FFF},
                          {{0x81, 0x80, 0x00}, 0x4000},
                          {{0x81, 0x80, 0x80, 0x00}, 0x200000},
                          {{0xFF, 0xFF, 0xFF, 0x7F}, 0x0FFFFFFF}};
    for (const auto& c : cases) {
        CAPTURE(c.value);
        auto body = c.vlq + Bytes{0xFF, 0x2F, 0x00};
        auto result = parse(single_track(body));
        REQUIRE(result.file.tracks[0].events.size() == 1);
        CHECK(result.file.tracks[0].events[0].tick == c.value);
    }
    // Deltas add up to absolute ticks.
    auto result = parse(single_track({0x81, 0x00, 0x90, 0x3C, 0x64, 0xFF, 0x7F, 0x3C, 0x00, 0x00, 0xFF, 0x2F, 0x00}));
    CHECK(result.file.tracks[0].events[1].tick == 0x80 + 0x3FFF);
}

TEST_CASE("parse_smf reads meta and sysex events") {
    auto body = Bytes{0x00, 0xFF, 0x03, 0x04, 'l',  'e',  'a',  'd',           // track name
                      0x00, 0xFF, 0x7F, 0x00,                                  // sequencer-specific, empty
                      0x00, 0xF0, 0x03, 0x7E, 0x09, 0xF7,                      // sysex
                      0x05, 0xF7, 0x02, 0x43, 0xF7,                            // escape/continuation
                      0x00, 0x90, 0x3C, 0x64, 0x00, 0xFF, 0x01, 0x81, 0x00} +  // text of 128 bytes
                Bytes(128, 'x') +
                end_of_track;
    auto result = parse(single_track(body));
    CHECK(result.warnings.empty());
    const auto& events = result.file.tracks[0].events;
    REQUIRE(events.size() == 7);
    CHECK(events[0] == Event::text(0, meta::track_name, "lead"));
    CHECK(events[1].kind == EventKind::meta);
    CHECK(events[1].meta_type == 0x7F);
    CHECK(events[1].data.empty());
    CHECK(events[2].kind == EventKind::sysex);
    CHECK(events[2].status == 0xF0);
    CHECK(events[2].data == Bytes{0x7E, 0x09, 0xF7});
    CHECK(events[3].status == 0xF7);
    CHECK(events[3].tick == 5);
    CHECK(events[3].data == Bytes{0x43, 0xF7});
    CHECK(events[4] == Event::note_on(5, 0, 60, 100));
    CHECK(events[5].data.size() == 128);
    CHECK(events[6] == Event::end_of_track(5));
}

TEST_CASE("running status after a meta event is a warning, continuing the last channel status") {
    auto result = parse(
        single_track({0x00, 0x90, 0x3C, 0x64, 0x00, 0xFF, 0x01, 0x01, 'A', 0x10, 0x3C, 0x00, 0x00, 0xFF, 0x2F, 0x00}));
    REQUIRE(result.warnings.size() == 1);
    CHECK(contains(result.warnings[0], "test.mid: byte 32: running status"));
    const auto& events = result.file.tracks[0].events;
    REQUIRE(events.size() == 4);
    CHECK(events[2] == Event::note_on(16, 0, 60, 0));
}

TEST_CASE("parse_smf reads SMPTE division and formats 1 and 2") {
    auto smpte = parse(header(1, 1, 0xE728) + track(end_of_track));  // -25 fps, 40 ticks per frame
    CHECK(smpte.file.division.smpte);
    CHECK(smpte.file.division.frames_per_second == 25);
    CHECK(smpte.file.division.ticks_per_frame == 40);
    CHECK(smpte.warnings.empty());

    auto drop_frame = parse(header(1, 1, 0xE350) + track(end_of_track));  // -29: 29.97 fps, 80 ticks
    CHECK(drop_frame.file.division.frames_per_second == 29);
    CHECK(drop_frame.file.division.ticks_per_frame == 80);

    auto format_2 = parse(header(2, 2, 96) + track(end_of_track) + track(end_of_track));
    CHECK(format_2.file.format == 2);
    CHECK(format_2.file.tracks.size() == 2);
    CHECK(format_2.file.division.ticks_per_quarter == 96);
    CHECK(format_2.warnings.empty());
}

TEST_CASE("malformed key signatures are warnings naming the file and byte") {
    auto result = parse(single_track({0x00, 0xFF, 0x59, 0x02, 0x09, 0x00,  // 9 sharps at byte 23
                                      0x00, 0xFF, 0x59, 0x02, 0xF7, 0x00,  // 9 flats at byte 29
                                      0x00, 0xFF, 0x59, 0x02, 0x02, 0xFF,  // mode 255 at byte 35
                                      0x00, 0xFF, 0x59, 0x01, 0x02,        // one byte at byte 41
                                      0x00, 0xFF, 0x59, 0x02, 0xFD, 0x01,  // B flat minor: fine
                                      0x00, 0xFF, 0x2F, 0x00}));
    REQUIRE(result.warnings.size() == 4);
    CHECK(result.warnings[0] == "test.mid: byte 23: key signature with 9 sharps (ignored)");
    CHECK(result.warnings[1] == "test.mid: byte 29: key signature with 9 flats (ignored)");
    CHECK(result.warnings[2] == "test.mid: byte 35: key signature with mode 255 (ignored)");
    CHECK(result.warnings[3] == "test.mid: byte 41: key signature of 1 bytes (ignored)");
    const auto& events = result.file.tracks[0].events;
    REQUIRE(events.size() == 2);  // the valid key signature and the end-of-track
    CHECK(events[0].meta_type == meta::key_signature);
    CHECK(events[0].data == Bytes{0xFD, 0x01});
}

TEST_CASE("malformed tempo events are ignored with a warning") {
    auto result = parse(single_track(
        {0x00, 0xFF, 0x51, 0x02, 0x07, 0xA1, 0x00, 0xFF, 0x51, 0x03, 0x00, 0x00, 0x00, 0x00, 0xFF, 0x2F, 0x00}));
    REQUIRE(result.warnings.size() == 2);
    CHECK(contains(result.warnings[0], "byte 23: tempo event of 2 bytes"));
    CHECK(contains(result.warnings[1], "byte 29: tempo of 0"));
    CHECK(result.file.tracks[0].events.size() == 1);
}

TEST_CASE("real-file oddities are warnings: missing end-of-track, unknown chunks, junk, truncated last track") {
    SUBCASE("missing end-of-track is added at the last event") {
        auto result = parse(single_track({0x00, 0x90, 0x3C, 0x64, 0x60, 0x80, 0x3C, 0x40}));
        REQUIRE(result.warnings.size() == 1);
        CHECK(result.warnings[0] == "test.mid: byte 30: track 0 has no end-of-track (added at tick 96)");
        const auto& events = result.file.tracks[0].events;
        REQUIRE(events.size() == 3);
        CHECK(events[2] == Event::end_of_track(96));
    }
    SUBCASE("unknown chunks are skipped") {
        auto bytes = header(1, 1) + chunk("XFIH", {1, 2, 3}, 3) + track(Bytes{0x00, 0x90, 0x3C, 0x64} + end_of_track);
        auto result = parse(bytes);
        CHECK(any_warning(result, "test.mid: byte 14: unknown chunk \"XFIH\" skipped"));
        REQUIRE(result.file.tracks.size() == 1);
        CHECK(result.file.tracks[0].events.size() == 2);
    }
    SUBCASE("junk after the last track") {
        auto result = parse(single_track(end_of_track) + Bytes{0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
        REQUIRE(result.warnings.size() == 1);
        CHECK(result.warnings[0] == "test.mid: byte 26: 10 bytes of junk after the last track (ignored)");
        auto short_junk = parse(single_track(end_of_track) + Bytes{0x1A});
        REQUIRE(short_junk.warnings.size() == 1);
        CHECK(contains(short_junk.warnings[0], "byte 26: 1 bytes of junk"));
    }
    SUBCASE("bytes after the end-of-track inside the chunk") {
        auto result = parse(single_track(end_of_track + Bytes{0x00, 0x90, 0x3C, 0x64}));
        REQUIRE(result.warnings.size() == 1);
        CHECK(contains(result.warnings[0], "byte 26: 4 bytes after the end-of-track"));
        CHECK(result.file.tracks[0].events.size() == 1);
    }
    SUBCASE("a last track cut off between events keeps what is there") {
        auto bytes = header(0, 1) + chunk("MTrk", {0x00, 0x90, 0x3C, 0x64, 0x60, 0x80, 0x3C, 0x40}, 100);
        auto result = parse(bytes);
        CHECK(any_warning(result, "test.mid: byte 14: track chunk of 100 bytes runs past the end of the file"));
        CHECK(any_warning(result, "no end-of-track"));
        CHECK(result.file.tracks[0].events.size() == 3);
    }
    SUBCASE("fewer tracks than declared") {
        auto result = parse(header(1, 3) + track(end_of_track));
        REQUIRE(result.warnings.size() == 1);
        CHECK(contains(result.warnings[0], "header declares 3 tracks but the file has 1"));
    }
    SUBCASE("more tracks than declared are read") {
        auto result = parse(header(1, 1) + track(end_of_track) + track(end_of_track));
        CHECK(result.file.tracks.size() == 2);
        CHECK(any_warning(result, "byte 26: track chunk beyond the 1"));
    }
}

TEST_CASE("bad input throws SmfError naming the file and byte") {
    struct Case {
        const char* what;
        Bytes bytes;
        std::size_t offset;
        const char* reason;
    };
    auto long_header = Bytes{'M', 'T', 'h', 'd', 0, 0, 0, 200, 0, 1, 0, 1, 1, 0xE0};
    const Case cases[] = {
        {"empty file", {}, 0, "empty file"},
        {"MThd only", {'M', 'T', 'h', 'd'}, 4, "unexpected end of data in header chunk length"},
        {"not MIDI", {'R', 'I', 'F', 'F', 0, 0, 0, 6, 0, 1, 0, 1, 1, 0xE0}, 0, "does not start with MThd"},
        {"header length below 6", {'M', 'T', 'h', 'd', 0, 0, 0, 5, 0, 1, 0, 1, 1}, 4, "header length 5 is less than 6"},
        {"header length past the end", long_header, 4, "header length 200 runs past the end"},
        {"unknown format", header(3, 1) + track(end_of_track), 8, "unknown format 3"},
        {"zero division", header(1, 1, 0) + track(end_of_track), 12, "division of 0"},
        {"SMPTE with 0 ticks per frame", header(1, 1, 0xE700) + track(end_of_track), 12, "0 ticks per frame"},
        {"track cut in the middle of an event", header(0, 1) + chunk("MTrk", {0x00, 0x90, 0x3C}, 100), 25,
         "unexpected end of data in channel event data"},
        {"file ends in a chunk header", header(0, 1) + Bytes{'M', 'T', 'r'}, 14, "file ends inside a chunk header"},
        {"unknown chunk past the end", header(0, 1) + chunk("JUNK", {1, 2}, 50), 14, "chunk \"JUNK\" of 50 bytes"},
        {"garbage instead of a chunk", header(0, 1) + Bytes{0x01, 0x02, 0x03, 0x04, 0, 0, 0, 0}, 14, "garbage"},
        {"VLQ of 5 bytes", single_track({0x80, 0x80, 0x80, 0x80, 0x00, 0xFF, 0x2F, 0x00}), 22, "longer than 4 bytes"},
        {"meta length of 2^28 (a 5-byte VLQ)", single_track({0x00, 0xFF, 0x01, 0x81, 0x80, 0x80, 0x80, 0x00}), 25,
         "meta event length is a variable-length quantity longer than 4 bytes"},
        {"meta length 2^28 - 1", single_track({0x00, 0xFF, 0x01, 0xFF, 0xFF, 0xFF, 0x7F, 0x00}), 23,
         "meta event 0x01 of 268435455 bytes runs past the end of the track (1 bytes left)"},
        {"sysex length past the end", single_track({0x00, 0xF0, 0x10, 0x01}), 23, "sysex event of 16 bytes"},
        {"data byte without status", single_track(Bytes{0x00, 0x3C, 0x64} + end_of_track), 23,
         "data byte 0x3C where a status byte was expected"},
        {"status byte where data is expected", single_track(Bytes{0x00, 0x90, 0x3C, 0x90} + end_of_track), 25,
         "byte 0x90 with the high bit set where a data byte of event 0x90 was expected"},
        {"running status cancelled by sysex, no channel event before",
         single_track(Bytes{0x00, 0xF0, 0x01, 0xF7, 0x00, 0x3C, 0x64} + end_of_track), 27,
         "data byte 0x3C where a status byte was expected"},
        {"system common status in a track", single_track(Bytes{0x00, 0xF2, 0x00, 0x00} + end_of_track), 23,
         "status byte 0xF2 is not allowed"},
        {"delta time cut off", single_track({0x00, 0x90, 0x3C, 0x64, 0x81}), 27, "delta time"},
        {"event status cut off", single_track({0x00, 0x90, 0x3C, 0x64, 0x10}), 27, "unexpected end of data in event"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.what);
        auto error = parse_error(c.bytes);
        std::string message = error.what();
        CAPTURE(message);
        CHECK(contains(message, "test.mid"));
        CHECK(contains(message, "byte"));
        CHECK(error.file() == "test.mid");
        CHECK(error.offset() == c.offset);
        CHECK(contains(message, "byte " + std::to_string(c.offset) + ": "));
        CHECK(contains(message, c.reason));
    }
}

TEST_CASE("a 26-byte prefix of a real file throws") {
    // MThd, then the first track's header and 4 bytes: a track name whose text is missing.
    auto bytes = header(1, 2) + chunk("MTrk", {0x00, 0xFF, 0x03, 0x06, 'k', 'a', 'n', 'a', 'd', 'e'}, 10);
    bytes.resize(26);
    auto error = parse_error(bytes);
    CHECK(error.offset() == 23);
    CHECK(contains(error.what(), "test.mid: byte 23: meta event 0x03 of 6 bytes runs past the end"));
}

TEST_CASE("a header claiming many tracks neither reserves them nor passes the limit") {
    auto short_track = chunk("MTrk", {0x00, 0x90, 0x3C, 0x64, 0x08, 0x80, 0x3C, 0x40}, 8);
    auto bytes = header(1, 65535) + short_track;
    REQUIRE(bytes.size() == 30);
    auto error = parse_error(bytes);
    CHECK(error.offset() == 10);
    CHECK(contains(error.what(), "header declares 65535 tracks, more than the limit of 1024"));

    ReadLimits generous;
    generous.max_tracks = 100000;
    auto result = parse(bytes, generous);
    CHECK(result.file.tracks.size() == 1);
    CHECK(any_warning(result, "header declares 65535 tracks but the file has 1"));

    auto cut = header(1, 65535) + chunk("MTrk", {0x00, 0x90, 0x3C, 0x64, 0x08, 0x80, 0x3C}, 0x00100000);
    auto cut_error = parse_error(cut, generous);
    CHECK(cut_error.offset() == 29);
}

TEST_CASE("read limits are enforced with a clear message") {
    auto notes = single_track(Bytes{0x00, 0x90, 0x3C, 0x64, 0x00, 0x3E, 0x64, 0x00, 0x40, 0x64} + end_of_track);
    ReadLimits limits;
    limits.max_events = 3;
    auto error = parse_error(notes, limits);
    CHECK(contains(error.what(), "byte 33: more than 3 events (limit)"));
    limits.max_events = 4;
    CHECK(parse(notes, limits).file.tracks[0].events.size() == 4);

    // The length limit is in beats: 2 beats of 480 ticks end at tick 960.
    ReadLimits length_limit;
    length_limit.max_beats = 2;
    auto late = single_track({0x87, 0x40, 0x90, 0x3C, 0x64, 0x01, 0xFF, 0x2F, 0x00});  // 960, then 961
    auto tick_error = parse_error(late, length_limit);
    CHECK(tick_error.offset() == 27);
    CHECK(contains(tick_error.what(), "tick 961 is past the limit of 2 beats (tick 960)"));
    // Found by fuzz_smf_reader: at 1 tick a quarter, a note 2^28 - 1 ticks late is as
    // many beats late; its wait tokens took 2 GB. The default limit refuses it at its delta.
    auto far =
        header(0, 1, 1) + track(Bytes{0x00, 0x90, 0x3C, 0x64, 0xFF, 0xFF, 0xFF, 0x7F, 0x80, 0x3C, 0x00} + end_of_track);
    auto far_error = parse_error(far, ReadLimits{});
    CHECK(far_error.offset() == 26);
    CHECK(contains(far_error.what(), "tick 268435455 is past the limit of 1048576 beats (tick 1048576)"));
    // An SMPTE file's beats are half its seconds: 25 frames of 40 ticks, 500 ticks a beat.
    ReadLimits smpte_limit;
    smpte_limit.max_beats = 2;
    auto smpte = header(0, 1, 0xE728) + track({0x87, 0x68, 0x90, 0x3C, 0x64, 0x01, 0xFF, 0x2F, 0x00});  // 1000, 1001
    CHECK(contains(parse_error(smpte, smpte_limit).what(), "tick 1001 is past the limit of 2 beats (tick 1000)"));

    ReadLimits size_limit;
    size_limit.max_file_bytes = 20;
    CHECK(contains(parse_error(notes, size_limit).what(), "byte 0: file of 36 bytes is larger than the limit of 20"));

    ReadLimits track_limit;
    track_limit.max_tracks = 1;
    auto extra = header(1, 1) + track(end_of_track) + track(end_of_track);
    CHECK(contains(parse_error(extra, track_limit).what(), "byte 26: more than 1 tracks (limit)"));
}

TEST_CASE("warnings are capped so a hostile file cannot flood them") {
    Bytes body;
    for (int i = 0; i < 500; ++i) body = body + Bytes{0x00, 0xFF, 0x59, 0x02, 0x09, 0x00};
    auto result = parse(single_track(body + end_of_track));
    CHECK(result.warnings.size() == 101);
    CHECK(contains(result.warnings.back(), "further warnings suppressed"));
}

TEST_CASE("read_smf reads a file and names it in messages") {
    kanade::test::TemporaryFolder folder;
    auto path = folder / "song.mid";
    auto bytes = single_track(Bytes{0x00, 0xFF, 0x59, 0x02, 0x09, 0x00} + end_of_track);
    {
        std::ofstream out(path, std::ios::binary);
        out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    }
    auto result = read_smf(path);
    REQUIRE(result.warnings.size() == 1);
    CHECK(result.warnings[0] == path.string() + ": byte 23: key signature with 9 sharps (ignored)");

    ReadLimits small;
    small.max_file_bytes = 10;
    CHECK_THROWS_AS(read_smf(path, small), SmfError);
    try {
        read_smf(folder / "missing.mid");
        FAIL("read_smf read a missing file");
    } catch (const SmfError& error) {
        CHECK(contains(error.what(), "missing.mid: byte 0: cannot read"));
    }
}
