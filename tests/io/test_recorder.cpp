#include "kanade/io/recorder.hpp"

#include "../daemon/outputs.hpp"
#include "clock/hand_plans.hpp"
#include "kanade/clock/scheduler.hpp"
#include "kanade/clock/step_clock.hpp"

#include "kanade/io/recording_journal.hpp"

#include "kanade/midi/note.hpp"
#include "kanade/midi/smf.hpp"
#include "test_paths.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace io = kanade::io;
namespace midi = kanade::midi;
namespace test = kanade::test;

namespace {

constexpr std::int64_t ms = 1'000'000;

std::int64_t now_ns() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

void sleep_until_ns(std::int64_t deadline) {
    if (const auto left = deadline - now_ns(); left > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(left));
}
void sleep_ms(int milliseconds) { std::this_thread::sleep_for(std::chrono::milliseconds(milliseconds)); }

// A journal's header line as the recorder's caller gave it: the recorder puts the instant
// the recording began (CLOCK_MONOTONIC, a positive number) first. "" when it does not.
std::string header_as_given(const std::string& header) {
    const std::string start = R"({"monotonic_start_ns":)";
    const auto comma = header.find(',');
    if (header.rfind(start, 0) != 0 || comma == std::string::npos) return "";
    if (std::stoll(header.substr(start.size())) <= 0) return "";
    return "{" + header.substr(comma + 1);
}

std::vector<std::string> lines_of(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

std::size_t count_containing(const std::vector<std::string>& lines, const std::string& text) {
    std::size_t n = 0;
    for (const auto& line : lines) n += line.find(text) != std::string::npos ? 1 : 0;
    return n;
}

struct Played {
    double seconds;
    std::uint8_t status, data1;
};

// The channel events of one track, in seconds (1920 ticks a second).
std::vector<Played> channel_events(const midi::Track& track) {
    std::vector<Played> out;
    for (const auto& event : track.events)
        if (event.kind == midi::EventKind::channel)
            out.push_back({static_cast<double>(event.tick) / 1920.0, event.status,
                           event.data.empty() ? std::uint8_t{0} : event.data[0]});
    return out;
}

std::string track_name(const midi::Track& track) {
    for (const auto& event : track.events)
        if (event.kind == midi::EventKind::meta && event.meta_type == midi::meta::track_name)
            return std::string(event.data.begin(), event.data.end());
    return {};
}

// kanade-YYYYMMDD-HHMMSS.mid or kanade-YYYYMMDD-HHMMSS-N.mid
bool timestamp_named(const std::string& name) {
    const std::string digits = "0123456789";
    if (name.size() < 26 || name.rfind("kanade-", 0) != 0 || name.substr(name.size() - 4) != ".mid") return false;
    if (name.find_first_not_of(digits, 7) != 15 || name[15] != '-' || name.find_first_not_of(digits, 16) != 22)
        return false;
    const auto rest = name.substr(22, name.size() - 26);
    return rest.empty() ||
           (rest.size() >= 2 && rest[0] == '-' && rest.find_first_not_of(digits, 1) == std::string::npos);
}

io::RecordedEvent recorded(std::int64_t time, io::Part part, const midi::Message& message) {
    return io::RecordedEvent{time, part, message, std::nullopt};
}

}  // namespace

TEST_CASE("a recording holds both parts as MIDI tracks at their times, and every event in the log") {
    test::TemporaryFolder folder;
    io::RecorderConfig config;
    config.dir = folder / "takes";
    config.stem = "take";
    config.flush_seconds = 0.1;
    io::Recorder recorder(config, "{\"model\":\"test.kmodel\",\"seed\":7,\n\"settings\":{\"temperature\":0.9}}");
    CHECK(recorder.midi_path() == folder / "takes" / "take.mid");
    CHECK(recorder.log_path() == folder / "takes" / "take.jsonl");
    const auto start = recorder.start_ns();

    struct Planned {
        std::int64_t at;
        io::Part part;
        midi::Message message;
    };
    const std::vector<Planned> plan = {
        {100 * ms, io::Part::human, midi::Message::note_on(0, 60, 90)},
        {150 * ms, io::Part::machine, midi::Message::note_on(1, 67, 80)},
        {400 * ms, io::Part::human, midi::Message::note_off(0, 60)},
        {450 * ms, io::Part::machine, midi::Message::note_off(1, 67)},
        {500 * ms, io::Part::human, midi::Message::note_on(0, 62, 70)},
        {601 * ms, io::Part::machine, midi::Message::note_on(1, 71, 60)},
        {703 * ms, io::Part::human, midi::Message::note_on(0, 62, 0)},  // an off, as velocity 0
        {905 * ms, io::Part::machine, midi::Message::note_off(1, 71)},
    };
    // The scheduler: pushes each event at its time, as the daemon does.
    int refused = 0;
    std::thread scheduler([&] {
        for (const auto& item : plan) {
            sleep_until_ns(start + item.at);
            auto message = item.message;
            message.time_ns = start + item.at;
            refused += recorder.push(recorded(message.time_ns, item.part, message)) ? 0 : 1;
        }
    });
    scheduler.join();
    CHECK(refused == 0);
    recorder.log(R"({"event":"mode","mode":"call-response"})");
    recorder.stop();
    recorder.stop();  // idempotent
    CHECK(!recorder.push(recorded(now_ns(), io::Part::machine, midi::Message::note_on(0, 1, 1))));

    const auto counters = recorder.counters();
    CHECK(counters.events == plan.size());
    CHECK(counters.dropped == 1);  // the push after stop()
    CHECK(counters.write_errors == 0);
    CHECK(counters.flushes >= 2);
    CHECK(recorder.last_error().empty());

    const auto read = midi::read_smf(recorder.midi_path());
    CHECK(read.warnings.empty());
    const auto& file = read.file;
    CHECK(file.format == 1);
    CHECK(file.division.ticks_per_quarter == 960);
    REQUIRE(file.tracks.size() == 3);
    CHECK(track_name(file.tracks[1]) == "human");
    CHECK(track_name(file.tracks[2]) == "machine");
    bool tempo_120 = false;
    for (const auto& event : file.tracks[0].events)
        if (event.kind == midi::EventKind::meta && event.meta_type == midi::meta::tempo)
            tempo_120 = event.data == std::vector<std::uint8_t>{0x07, 0xA1, 0x20};
    CHECK(tempo_120);

    const auto human = channel_events(file.tracks[1]);
    const auto machine = channel_events(file.tracks[2]);
    REQUIRE(human.size() == 4);
    REQUIRE(machine.size() == 4);
    std::size_t h = 0, m = 0;
    for (const auto& item : plan) {
        const auto& got = item.part == io::Part::human ? human[h++] : machine[m++];
        CHECK(std::abs(got.seconds - static_cast<double>(item.at) / 1e9) <= 0.001);
        CHECK(got.status == item.message.bytes[0]);
        CHECK(got.data1 == item.message.bytes[1]);
    }
    CHECK(midi::extract_notes(file).size() == 4);

    const auto lines = lines_of(recorder.log_path());
    REQUIRE(lines.size() == 1 + plan.size() + 1);
    // The header keeps what the caller gave, after the instant the recording began.
    CHECK(header_as_given(lines[0]) == R"({"model":"test.kmodel","seed":7, "settings":{"temperature":0.9}})");
    CHECK(count_containing(lines, "\"part\":\"human\"") == 4);
    CHECK(count_containing(lines, "\"part\":\"machine\"") == 4);
    CHECK(lines[1] == R"({"t":0.100000,"part":"human","msg":[144,60,90]})");
    CHECK(lines[8] == R"({"t":0.905000,"part":"machine","msg":[129,71,0]})");
    // The log line takes its place in time, after the last event, with its time.
    CHECK(lines[9].rfind(R"({"t":)", 0) == 0);
    CHECK(lines[9].find(R"("event":"mode","mode":"call-response"})") != std::string::npos);
}

std::vector<std::string> files_in(const std::filesystem::path& dir) {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
        names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

TEST_CASE("before stop() the current segment is already valid, with sounding notes closed at the flush") {
    test::TemporaryFolder folder;
    io::RecorderConfig config;
    config.dir = folder.path();
    config.stem = "live";
    config.flush_seconds = 0.1;
    io::Recorder recorder(config, "{}");
    CHECK(recorder.segment_path() == folder / "live.part001.mid");
    CHECK(midi::read_smf(recorder.segment_path()).file.tracks.size() == 3);  // valid from the start
    CHECK(!std::filesystem::exists(recorder.midi_path()));                   // made at stop()

    const auto start = recorder.start_ns();
    const auto on = now_ns();
    REQUIRE(recorder.push(recorded(on, io::Part::machine, midi::Message::note_on(2, 64, 100, on))));
    REQUIRE(recorder.push(recorded(on, io::Part::machine, midi::Message::control_change(2, 64, 127, on))));
    sleep_ms(350);
    const auto read_at = now_ns();

    const auto during = midi::read_smf(recorder.segment_path()).file;
    REQUIRE(during.tracks.size() == 3);
    const auto events = channel_events(during.tracks[2]);
    REQUIRE(events.size() == 3);  // on, pedal, and the closing off
    CHECK(events[0].status == 0x92);
    CHECK(events[2].status == 0x82);
    CHECK(events[2].data1 == 64);
    const double on_s = static_cast<double>(on - start) / 1e9;
    CHECK(events[2].seconds > on_s + 0.1);  // closed at a flush after the note began
    CHECK(events[2].seconds <= static_cast<double>(read_at - start) / 1e9 + 0.001);
    const auto notes = midi::extract_notes(during);
    REQUIRE(notes.size() == 1);
    CHECK(notes[0].end_seconds > notes[0].start_seconds);

    // Still open in memory: the real note-off replaces the provisional one.
    const auto off = now_ns();
    REQUIRE(recorder.push(recorded(off, io::Part::machine, midi::Message::note_off(2, 64, off))));
    sleep_ms(50);
    recorder.stop();
    CHECK(files_in(folder.path()) == std::vector<std::string>{"live.jsonl", "live.mid"});  // the segment is gone
    const auto after = channel_events(midi::read_smf(recorder.midi_path()).file.tracks[2]);
    REQUIRE(after.size() == 3);
    CHECK(after[2].status == 0x82);
    CHECK(std::abs(after[2].seconds - static_cast<double>(off - start) / 1e9) <= 0.001);
}

TEST_CASE("all-notes-off closes the part's sounding notes in the file") {
    test::TemporaryFolder folder;
    io::Recorder recorder({folder.path(), "cut", 0.05}, "{}");
    const auto start = recorder.start_ns();
    recorder.push(recorded(start + 10 * ms, io::Part::machine, midi::Message::note_on(0, 60, 100)));
    recorder.push(recorded(start + 10 * ms, io::Part::machine, midi::Message::note_on(0, 64, 100)));
    recorder.push(recorded(start + 20 * ms, io::Part::human, midi::Message::note_on(0, 50, 100)));
    recorder.push(recorded(start + 200 * ms, io::Part::machine, midi::Message::control_change(0, 123, 0)));
    sleep_ms(300);
    recorder.stop();
    const auto file = midi::read_smf(recorder.midi_path()).file;
    const auto machine = channel_events(file.tracks[2]);
    REQUIRE(machine.size() == 5);  // 2 ons, the controller, 2 offs at its time
    CHECK(machine[3].status == 0x80);
    CHECK(machine[3].seconds == doctest::Approx(0.2).epsilon(0.001));
    CHECK(machine[4].seconds == doctest::Approx(0.2).epsilon(0.001));
    const auto human = channel_events(file.tracks[1]);
    REQUIRE(human.size() == 2);  // the player's note is not the machine's to cut: closed at the stop
    CHECK(human[1].seconds >= 0.29);
}

TEST_CASE("recordings without a stem are named by the time and never overwrite each other") {
    test::TemporaryFolder folder;
    io::Recorder first({folder.path(), "", 0.5}, "{}");
    io::Recorder second({folder.path(), "", 0.5}, "{}");
    CHECK(timestamp_named(first.midi_path().filename().string()));
    CHECK(timestamp_named(second.midi_path().filename().string()));
    CHECK(first.midi_path() != second.midi_path());
    CHECK(first.log_path().stem() == first.midi_path().stem());
    first.stop();
    second.stop();
    CHECK(std::filesystem::exists(first.midi_path()));
    CHECK(std::filesystem::exists(second.log_path()));
}

TEST_CASE("a recorder refuses a folder it cannot create") {
    test::TemporaryFolder folder;
    std::ofstream(folder / "file") << "in the way";
    CHECK_THROWS_WITH_AS(io::Recorder({folder / "file" / "sub", "x", 0.5}, "{}"),
                         doctest::Contains("cannot record into"), std::runtime_error);
}

namespace {

// Runs `body` in a child process and returns what it reported as "key value" lines.
// The child's own failures come back as the key "error".
template <typename Body>
std::map<std::string, std::string> in_child(Body body) {
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    // Or the child would print the parent's buffered output again.
    std::cout.flush();
    std::fflush(nullptr);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::close(pipe_fds[0]);
        std::ostringstream report;
        try {
            body(report);
        } catch (const std::exception& error) {
            report << "error " << error.what() << "\n";
        }
        const auto text = report.str();
        [[maybe_unused]] auto written = ::write(pipe_fds[1], text.data(), text.size());
        ::_exit(0);
    }
    ::close(pipe_fds[1]);
    std::string text;
    char buffer[4096];
    for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;)
        text.append(buffer, static_cast<std::size_t>(n));
    ::close(pipe_fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    std::map<std::string, std::string> report;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        const auto space = line.find(' ');
        report[line.substr(0, space)] = space == std::string::npos ? "" : line.substr(space + 1);
    }
    return report;
}

void push_notes(io::Recorder& recorder, int count, int pitch_base, bool& all_taken) {
    const auto t = now_ns();
    for (int i = 0; i < count; ++i) {
        all_taken &=
            recorder.push(recorded(t, io::Part::machine, midi::Message::note_on(0, pitch_base + i % 12, 100, t)));
        all_taken &= recorder.push(recorded(t, io::Part::machine, midi::Message::note_off(0, pitch_base + i % 12, t)));
    }
}

}  // namespace

TEST_CASE("a write error is counted and retried, pushing goes on, and the last good file stays readable") {
    test::TemporaryFolder folder;
    io::RecorderConfig config{folder.path(), "full", 0.05};
    // A file-size limit stands in for a full disk (root ignores permissions). It is the
    // child's alone; SIGXFSZ would kill it, so it is ignored and write() fails with EFBIG.
    auto report = in_child([&](std::ostream& out) {
        std::signal(SIGXFSZ, SIG_IGN);
        io::Recorder recorder(config, R"({"model":"m"})");
        bool all_taken = true;
        push_notes(recorder, 5, 60, all_taken);
        sleep_ms(200);
        const auto good = std::filesystem::file_size(recorder.segment_path());
        const auto log_size = std::filesystem::file_size(recorder.log_path());
        rlimit limit{};
        ::getrlimit(RLIMIT_FSIZE, &limit);
        const auto unlimited = limit.rlim_cur;
        limit.rlim_cur = std::max(good, log_size) + 40;
        ::setrlimit(RLIMIT_FSIZE, &limit);

        push_notes(recorder, 100, 40, all_taken);
        sleep_ms(300);
        out << "errors_during " << recorder.counters().write_errors << "\n";
        out << "last_error " << recorder.last_error() << "\n";
        out << "events_on_disk_during " << midi::read_smf(recorder.segment_path()).file.tracks.at(2).events.size()
            << "\n";

        limit.rlim_cur = unlimited;
        ::setrlimit(RLIMIT_FSIZE, &limit);
        push_notes(recorder, 10, 70, all_taken);
        sleep_ms(300);
        recorder.stop();
        const auto counters = recorder.counters();
        out << "all_taken " << all_taken << "\n";
        out << "events " << counters.events << "\n";
        out << "errors_after " << counters.write_errors << "\n";
        out << "flushes " << counters.flushes << "\n";
    });
    CHECK(report["error"] == "");
    REQUIRE(!report["errors_during"].empty());
    CHECK(std::stoi(report["errors_during"]) >= 1);
    CHECK(report["last_error"].find("File too large") != std::string::npos);
    // The file before the error: its name, 5 note pairs and the end of the track.
    CHECK(report["events_on_disk_during"] == "12");
    CHECK(report["all_taken"] == "1");
    CHECK(report["events"] == "230");

    // After the limit went away, the retry wrote everything, each event once.
    const auto file = midi::read_smf(folder / "full.mid").file;
    CHECK(channel_events(file.tracks.at(2)).size() == 230);
    const auto lines = lines_of(folder / "full.jsonl");
    CHECK(lines.size() == 231);
    CHECK(header_as_given(lines.at(0)) == R"({"model":"m"})");
    std::size_t well_formed = 0;
    for (const auto& line : lines) well_formed += !line.empty() && line.front() == '{' && line.back() == '}' ? 1 : 0;
    CHECK(well_formed == lines.size());
    CHECK(files_in(folder.path()) == std::vector<std::string>{"full.jsonl", "full.mid"});  // no temporary, no segment
}

TEST_CASE("a recorder killed with SIGKILL leaves its last flush readable, and STEM.mid can be made from its journal") {
    test::TemporaryFolder folder;
    const auto report = in_child([&](std::ostream&) {
        io::Recorder recorder({folder.path(), "killed", 0.1}, R"({"model":"m"})");
        const auto t = now_ns();
        recorder.push(recorded(t, io::Part::human, midi::Message::note_on(0, 60, 100, t)));
        recorder.push(recorded(t, io::Part::machine, midi::Message::note_on(0, 67, 100, t)));
        recorder.push(recorded(t + 50 * ms, io::Part::machine, midi::Message::note_off(0, 67, t + 50 * ms)));
        sleep_ms(400);
        ::raise(SIGKILL);
    });
    CHECK(report.empty());
    CHECK(!std::filesystem::exists(folder / "killed.mid"));
    const auto segment = midi::read_smf(folder / "killed.part001.mid").file;
    REQUIRE(segment.tracks.size() == 3);
    CHECK(channel_events(segment.tracks[1]).size() == 2);  // the held note, closed at the flush
    CHECK(channel_events(segment.tracks[2]).size() == 2);
    CHECK(midi::extract_notes(segment).size() == 2);
    CHECK(lines_of(folder / "killed.jsonl").size() == 4);

    // What `kanade` would do with what the daemon left.
    const auto summary = io::midi_from_journal(folder / "killed.jsonl", folder / "killed.mid");
    CHECK(summary.events == 3);
    CHECK(summary.skipped_lines == 0);
    const auto file = midi::read_smf(folder / "killed.mid").file;
    REQUIRE(file.tracks.size() == 3);
    const auto human = channel_events(file.tracks[1]);
    const auto machine = channel_events(file.tracks[2]);
    REQUIRE(human.size() == 2);
    REQUIRE(machine.size() == 2);
    CHECK(human[1].seconds == machine[1].seconds);  // the held note, closed at the journal's last time
    CHECK(midi::extract_notes(file).size() == 2);
}

namespace {

struct Expected {
    std::uint64_t tick;
    std::uint8_t status, data1;
};

// Ticks of a time in milliseconds, rounded to nearest: 1920 a second.
std::uint64_t tick_of_ms(std::int64_t milliseconds) {
    return static_cast<std::uint64_t>((milliseconds * 1920 + 500) / 1000);
}

// How many of `got` differ from `expected`; the first difference goes to the log.
std::size_t differences(const midi::Track& track, const std::vector<Expected>& expected) {
    std::vector<Expected> got;
    for (const auto& event : track.events)
        if (event.kind == midi::EventKind::channel) got.push_back({event.tick, event.status, event.data.at(0)});
    std::size_t different = got.size() > expected.size() ? got.size() - expected.size() : expected.size() - got.size();
    for (std::size_t i = 0; i < std::min(got.size(), expected.size()); ++i) {
        const bool same =
            got[i].tick == expected[i].tick && got[i].status == expected[i].status && got[i].data1 == expected[i].data1;
        if (!same && different++ == 0)
            MESSAGE("event " << i << ": tick " << got[i].tick << " status " << int(got[i].status) << " data "
                             << int(got[i].data1) << ", expected tick " << expected[i].tick << " status "
                             << int(expected[i].status) << " data " << int(expected[i].data1));
    }
    return different;
}

}  // namespace

TEST_CASE("three hours in compressed time: STEM.mid holds every note in order, the segments go, memory stays bounded") {
    test::TemporaryFolder folder;
    // The test flushes (flush()); the writer thread's period is longer than the test.
    io::RecorderConfig config{folder.path(), "long", 3600.0};
    REQUIRE(config.segment_seconds == 300);
    io::Recorder recorder(config, R"({"model":"m"})");
    const auto start = recorder.start_ns();

    // 20 events a second: a note every 100 ms, the parts taking turns, each 80 ms long;
    // every 2999th lasts 7 s on channel 1, so some sound across a segment's end.
    constexpr std::int64_t notes = 3 * 3600 * 10;
    std::array<std::vector<Expected>, 2> expected;  // human, machine
    struct Off {
        std::int64_t ms;
        io::Part part;
        int channel, pitch;
    };
    std::vector<Off> pending;  // offs not yet due, in time order
    bool all_taken = true;
    auto play = [&](std::int64_t ms, io::Part part, const midi::Message& message) {
        all_taken &= recorder.push(recorded(start + ms * 1'000'000, part, message));
        expected[part == io::Part::human ? 0 : 1].push_back({tick_of_ms(ms), message.bytes[0], message.bytes[1]});
    };
    std::uint64_t most_held = 0, flushes = 0;
    std::vector<std::uint64_t> flush_bytes;
    for (std::int64_t i = 0; i < notes; ++i) {
        const auto on_ms = i * 100;
        if (i % 600 == 0 && i > 0) {  // a minute of music a flush
            recorder.flush();
            ++flushes;
            const auto counters = recorder.counters();
            most_held = std::max(most_held, counters.held_events);
            flush_bytes.push_back(counters.last_flush_bytes);
        }
        while (!pending.empty() && pending.front().ms <= on_ms) {
            const auto off = pending.front();
            pending.erase(pending.begin());
            play(off.ms, off.part, midi::Message::note_off(off.channel, off.pitch));
        }
        const auto part = i % 2 ? io::Part::machine : io::Part::human;
        const bool held = i % 2999 == 0;
        const int channel = held ? 1 : 0, pitch = 40 + static_cast<int>(i * 7 % 48);
        play(on_ms, part, midi::Message::note_on(channel, pitch, 30 + static_cast<int>(i % 90)));
        const Off off{on_ms + (held ? 7000 : 80), part, channel, pitch};
        pending.insert(std::upper_bound(pending.begin(), pending.end(), off,
                                        [](const Off& a, const Off& b) { return a.ms < b.ms; }),
                       off);
    }
    for (const auto& off : pending) play(off.ms, off.part, midi::Message::note_off(off.channel, off.pitch));
    recorder.flush();
    REQUIRE(all_taken);

    // A segment every 5 minutes, each a valid file; a note sounding at a seam is closed
    // at the end of one segment and struck again at the start of the next.
    const auto before_stop = recorder.counters();
    CHECK(before_stop.write_errors == 0);
    // 36 of 5 minutes, and one for the last held note's off at 10803.4 s.
    CHECK(before_stop.segments == 37);
    CHECK(files_in(folder.path()).size() == 1 + 37);
    const auto first = midi::read_smf(folder / "long.part001.mid").file;
    const auto second = midi::read_smf(folder / "long.part002.mid").file;
    const auto seam = 300 * 1920;  // note 2999 (machine, channel 1) holds from 299.9 s to 306.9 s
    const auto last_of_first = channel_events(first.tracks.at(2)).back();
    CHECK(last_of_first.status == 0x81);
    CHECK(last_of_first.seconds * 1920 == seam);
    const auto first_of_second = channel_events(second.tracks.at(2)).front();
    CHECK(first_of_second.status == 0x91);
    CHECK(first_of_second.seconds * 1920 == seam);

    // Memory: the current segment (5 minutes, 6000 events, and the notes struck again).
    CHECK(before_stop.events == 2 * notes);
    CHECK(most_held >= 5990);
    CHECK(most_held <= 6010);
    // A flush writes a minute of journal and one segment: as much at the end as in the first hour.
    REQUIRE(flush_bytes.size() == flushes);
    const auto first_hour = *std::max_element(flush_bytes.begin(), flush_bytes.begin() + 60);
    const auto last_hour = *std::max_element(flush_bytes.end() - 60, flush_bytes.end());
    CHECK(last_hour <= first_hour + first_hour / 20);

    recorder.stop();
    CHECK(recorder.counters().write_errors == 0);
    CHECK(recorder.counters().held_events == 0);
    CHECK(files_in(folder.path()) == std::vector<std::string>{"long.jsonl", "long.mid"});
    const auto read = midi::read_smf(recorder.midi_path());
    CHECK(read.warnings.empty());
    REQUIRE(read.file.tracks.size() == 3);
    CHECK(differences(read.file.tracks[1], expected[0]) == 0);  // every note once, in order, at its tick
    CHECK(differences(read.file.tracks[2], expected[1]) == 0);
    CHECK(midi::extract_notes(read.file).size() == static_cast<std::size_t>(notes));
    CHECK(lines_of(recorder.log_path()).size() == 1 + 2 * notes);
}

TEST_CASE("a flush writes what was added and one segment, however long the recording") {
    test::TemporaryFolder folder;
    io::RecorderConfig config{folder.path(), "bounded", 3600.0};
    config.segment_events = 400;
    io::Recorder recorder(config, "{}");
    const auto start = recorder.start_ns();
    std::vector<std::uint64_t> bytes, held;
    bool all_taken = true;
    for (int flush = 0; flush < 200; ++flush) {
        for (int i = 0; i < 50; ++i) {  // 100 events a flush, 10 ms apart
            const auto at = start + (flush * 50 + i) * 20 * ms;
            all_taken &= recorder.push(recorded(at, io::Part::human, midi::Message::note_on(0, 60 + i % 12, 100)));
            all_taken &=
                recorder.push(recorded(at + 10 * ms, io::Part::human, midi::Message::note_off(0, 60 + i % 12)));
        }
        recorder.flush();
        bytes.push_back(recorder.counters().last_flush_bytes);
        held.push_back(recorder.counters().held_events);
    }
    REQUIRE(all_taken);
    const auto journal_bytes = std::filesystem::file_size(recorder.log_path());
    CHECK(recorder.counters().segments == 50);  // 20000 events, 400 a segment
    CHECK(*std::max_element(held.begin(), held.end()) == 400);
    // Flushes 181..200 (segments 46..50) cost no more than flushes 1..20 (segments 1..5).
    const auto early = *std::max_element(bytes.begin(), bytes.begin() + 20);
    const auto late = *std::max_element(bytes.end() - 20, bytes.end());
    CHECK(late <= early + early / 10);
    CHECK(early * 50 < journal_bytes);  // and far less than the recording
    recorder.stop();
    const auto file = midi::read_smf(recorder.midi_path()).file;
    CHECK(channel_events(file.tracks.at(1)).size() == 20000);
}

namespace {

midi::Event channel_event(std::uint64_t tick, std::uint8_t status, std::uint8_t data1, std::uint8_t data2) {
    midi::Event event;
    event.tick = tick;
    event.status = status;
    event.data = {data1, data2};
    return event;
}

std::vector<std::uint8_t> bytes_of(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("midi_from_journal rebuilds the recorder's STEM.mid from its journal") {
    test::TemporaryFolder folder;
    io::RecorderConfig config{folder.path(), "take", 3600.0};
    config.segment_events = 5;
    io::Recorder recorder(config, R"({"model":"m"})");
    const auto start = recorder.start_ns();
    // Times after the stop, so both files end at the last event, not at the stop.
    auto at = [&](int tenths) { return start + tenths * 100 * ms; };
    std::vector<io::RecordedEvent> plan = {
        recorded(at(100), io::Part::human, midi::Message::note_on(0, 60, 90)),
        recorded(at(101), io::Part::machine, midi::Message::note_on(1, 64, 80)),
        recorded(at(102), io::Part::machine, midi::Message::control_change(1, 64, 127)),
        recorded(at(105), io::Part::human, midi::Message::note_off(0, 60)),
        recorded(at(106), io::Part::machine, midi::Message::note_on(1, 67, 70)),
        recorded(at(110), io::Part::human, midi::Message::note_on(0, 62, 60)),  // held to the end
        recorded(at(120), io::Part::machine, midi::Message::control_change(1, 123, 0)),
        recorded(at(130), io::Part::machine, midi::Message::note_on(1, 69, 50)),
        recorded(at(140), io::Part::machine, midi::Message::note_off(1, 69)),
    };
    for (std::size_t i = 0; i < plan.size(); ++i) {
        REQUIRE(recorder.push(plan[i]));
        if (i % 3 == 2) recorder.flush();
    }
    recorder.log(R"({"event":"mode","mode":"solo"})");
    recorder.stop();
    CHECK(recorder.counters().segments == 2);
    CHECK(recorder.counters().write_errors == 0);

    const auto summary = io::midi_from_journal(recorder.log_path(), folder / "rebuilt.mid");
    CHECK(summary.events == plan.size());
    CHECK(summary.skipped_lines == 0);
    CHECK(summary.end_tick == 14 * 1920);
    CHECK(bytes_of(folder / "rebuilt.mid") == bytes_of(recorder.midi_path()));

    // The same file, built the way the recorder built it before it streamed.
    midi::File expected;
    expected.format = 1;
    expected.division.ticks_per_quarter = 960;
    expected.tracks.resize(3);
    expected.tracks[0] = io::recording_tempo_track("take", 14 * 1920);
    expected.tracks[1].events = {
        midi::Event::text(0, midi::meta::track_name, "human"),
        channel_event(10 * 1920, 0x90, 60, 90),
        channel_event(tick_of_ms(10'500), 0x80, 60, 0),
        channel_event(11 * 1920, 0x90, 62, 60),
        midi::Event::note_off(14 * 1920, 0, 62),  // still sounding at the end
        midi::Event::end_of_track(14 * 1920),
    };
    expected.tracks[2].events = {
        midi::Event::text(0, midi::meta::track_name, "machine"),
        channel_event(tick_of_ms(10'100), 0x91, 64, 80),
        channel_event(tick_of_ms(10'200), 0xB1, 64, 127),
        channel_event(tick_of_ms(10'600), 0x91, 67, 70),
        channel_event(12 * 1920, 0xB1, 123, 0),
        midi::Event::note_off(12 * 1920, 1, 64),  // cut by all-notes-off
        midi::Event::note_off(12 * 1920, 1, 67),
        channel_event(13 * 1920, 0x91, 69, 50),
        channel_event(14 * 1920, 0x81, 69, 0),
        midi::Event::end_of_track(14 * 1920),
    };
    CHECK(bytes_of(recorder.midi_path()) == midi::serialize_smf(expected));
}

TEST_CASE("midi_from_journal sorts a journal's late lines, skips a torn last line, and ends where asked") {
    test::TemporaryFolder folder;
    std::ofstream(folder / "hand.jsonl") << R"({"model":"m","t":99})"
                                            "\n"
                                            R"({"t":0.500000,"part":"human","msg":[144,60,100]})"
                                            "\n"
                                            R"({"t":0.250000,"part":"machine","msg":[145,67,90]})"
                                            "\n"
                                            R"({"t":1.000000,"part":"human","msg":[128,60,0]})"
                                            "\n"
                                            R"({"t":0.900000,"part":"human","msg":[176,64,127]})"
                                            "\n"  // a flush late
                                            R"({"t":1.200000,"part":"machine","msg":[248]})"
                                            "\n"  // no channel message
                                            R"({"t":2.000000,"event":"mode","mode":"solo"})"
                                            "\n"
                                            R"({"t":2.100000,"part":"hum)";
    const auto summary = io::midi_from_journal(folder / "hand.jsonl", folder / "hand.mid");
    CHECK(summary.events == 5);
    CHECK(summary.skipped_lines == 1);
    CHECK(summary.end_tick == 2 * 1920);  // the log line's time; the header's "t" is no time
    midi::File expected;
    expected.format = 1;
    expected.division.ticks_per_quarter = 960;
    expected.tracks = {io::recording_tempo_track("hand", 3840), {}, {}};
    expected.tracks[1].events = {midi::Event::text(0, midi::meta::track_name, "human"),
                                 channel_event(960, 0x90, 60, 100), channel_event(1728, 0xB0, 64, 127),
                                 channel_event(1920, 0x80, 60, 0), midi::Event::end_of_track(3840)};
    expected.tracks[2].events = {midi::Event::text(0, midi::meta::track_name, "machine"),
                                 channel_event(480, 0x91, 67, 90), midi::Event::note_off(3840, 1, 67),
                                 midi::Event::end_of_track(3840)};
    CHECK(bytes_of(folder / "hand.mid") == midi::serialize_smf(expected));

    CHECK(io::midi_from_journal(folder / "hand.jsonl", folder / "later.mid", 3'000'000).end_tick == 3 * 1920);
    CHECK(io::midi_from_journal(folder / "hand.jsonl", folder / "earlier.mid", 100'000).end_tick ==
          2304);  // not before an event

    CHECK_THROWS_AS(io::midi_from_journal(folder / "missing.jsonl", folder / "missing.mid"), std::runtime_error);
    CHECK(!std::filesystem::exists(folder / "missing.mid"));
}

TEST_CASE("when STEM.mid cannot be made at stop() the segments stay and the error says so") {
    test::TemporaryFolder folder;
    // A folder in STEM.mid's place stands in for a disk that refuses the file.
    std::filesystem::create_directories(folder / "blocked.mid" / "in-the-way");
    io::Recorder recorder({folder.path(), "blocked", 3600.0}, "{}");
    const auto t = recorder.start_ns() + 10 * ms;
    REQUIRE(recorder.push(recorded(t, io::Part::machine, midi::Message::note_on(0, 60, 100))));
    recorder.stop();
    CHECK(recorder.counters().write_errors == 1);
    CHECK(recorder.last_error().find("cannot make") != std::string::npos);
    CHECK(recorder.last_error().find("blocked.part001.mid") != std::string::npos);
    CHECK(files_in(folder.path()) == std::vector<std::string>{"blocked.jsonl", "blocked.mid", "blocked.part001.mid"});
    CHECK(channel_events(midi::read_smf(folder / "blocked.part001.mid").file.tracks.at(2)).size() == 2);
}

TEST_CASE("a journal line with a grid step round-trips, one without (an older journal) still reads") {
    const auto on = midi::Message::note_on(2, 61, 99);
    const auto line = io::journal_event_line(1'500'000, io::Part::machine, on, 4711);
    CHECK(line == R"({"t":1.500000,"part":"machine","msg":[146,61,99],"step":4711})");
    auto event = io::parse_journal_event(line);
    REQUIRE(event);
    CHECK(event->since_start_us == 1'500'000);
    CHECK(event->part == io::Part::machine);
    CHECK(event->message.bytes[1] == 61);
    REQUIRE(event->step);
    CHECK(*event->step == 4711);
    CHECK(io::parse_journal_event(io::journal_event_line(5, io::Part::human, on, -3))->step == -3);

    auto old = io::parse_journal_event(R"({"t":1.500000,"part":"human","msg":[146,61,99]})");
    REQUIRE(old);
    CHECK(!old->step);
    CHECK(!io::parse_journal_event(R"({"t":1.5,"part":"human","msg":[146,61,99],"step":}")"));
    CHECK(!io::parse_journal_event(R"({"t":1.5,"part":"human","msg":[146,61,99],"step":3,"x":1})"));
}

TEST_CASE("the recorder journals the grid step the scheduler played each note on, and the player's") {
    test::TemporaryFolder folder;
    io::Recorder recorder(io::RecorderConfig{folder.path(), "steps"}, R"({"model":"m"})");
    kanade::daemon::RecorderOutput output;
    output.set(&recorder);
    test::HandPlans plans(1);
    plans.plan(0, 3, {{60, 2}});
    kanade::clock::SchedulerConfig config;
    config.bpm = 600;
    config.realtime_priority = false;
    kanade::clock::StepClock step_clock;
    kanade::clock::Scheduler scheduler(config, plans, step_clock, {&output});
    REQUIRE(scheduler.push_human(midi::Message::note_on(0, 72, 90), 1));  // before the start: played at step 0
    scheduler.start();
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (scheduler.current_step() < 8 && std::chrono::steady_clock::now() < give_up) sleep_ms(2);
    scheduler.stop();
    output.set(nullptr);
    recorder.stop();

    std::vector<io::JournalEvent> events;
    for (const auto& line : lines_of(recorder.log_path()))
        if (auto event = io::parse_journal_event(line)) events.push_back(*event);
    REQUIRE(events.size() == 3);
    CHECK(events[0].part == io::Part::human);
    CHECK(events[0].step == 1);  // the step the input thread gave it, not the one it was passed on at
    CHECK(events[1].message.is_note_on());
    CHECK(events[1].part == io::Part::machine);
    CHECK(events[1].step == 3);
    CHECK(events[2].message.is_note_off());
    CHECK(events[2].step == 5);  // two steps long
    // The file made of the journal ignores the steps.
    const auto summary = io::midi_from_journal(recorder.log_path(), folder / "again.mid");
    CHECK(summary.events == 3);
    CHECK(summary.skipped_lines == 0);
}
