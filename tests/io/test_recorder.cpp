#include "kanade/io/recorder.hpp"

#include "kanade/midi/note.hpp"
#include "kanade/midi/smf.hpp"
#include "test_paths.hpp"

#include <doctest/doctest.h>

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
    return rest.empty() || (rest.size() >= 2 && rest[0] == '-' && rest.find_first_not_of(digits, 1) == std::string::npos);
}

io::RecordedEvent recorded(std::int64_t time, io::Part part, const midi::Message& message) {
    return io::RecordedEvent{time, part, message};
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
    CHECK(lines[0] == R"({"model":"test.kmodel","seed":7, "settings":{"temperature":0.9}})");
    CHECK(count_containing(lines, "\"part\":\"human\"") == 4);
    CHECK(count_containing(lines, "\"part\":\"machine\"") == 4);
    CHECK(lines[1] == R"({"t":0.100000,"part":"human","msg":[144,60,90]})");
    CHECK(lines[8] == R"({"t":0.905000,"part":"machine","msg":[129,71,0]})");
    // The log line takes its place in time, after the last event, with its time.
    CHECK(lines[9].rfind(R"({"t":)", 0) == 0);
    CHECK(lines[9].find(R"("event":"mode","mode":"call-response"})") != std::string::npos);
}

TEST_CASE("before stop() the MIDI file is already valid, with sounding notes closed at the flush") {
    test::TemporaryFolder folder;
    io::RecorderConfig config;
    config.dir = folder.path();
    config.stem = "live";
    config.flush_seconds = 0.1;
    io::Recorder recorder(config, "{}");
    CHECK(midi::read_smf(recorder.midi_path()).file.tracks.size() == 3);  // valid from the start

    const auto start = recorder.start_ns();
    const auto on = now_ns();
    REQUIRE(recorder.push(recorded(on, io::Part::machine, midi::Message::note_on(2, 64, 100, on))));
    REQUIRE(recorder.push(recorded(on, io::Part::machine, midi::Message::control_change(2, 64, 127, on))));
    sleep_ms(350);
    const auto read_at = now_ns();

    const auto during = midi::read_smf(recorder.midi_path()).file;
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
        all_taken &= recorder.push(recorded(t, io::Part::machine, midi::Message::note_on(0, pitch_base + i % 12, 100, t)));
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
        const auto good = std::filesystem::file_size(recorder.midi_path());
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
        out << "events_on_disk_during " << midi::read_smf(recorder.midi_path()).file.tracks.at(2).events.size() << "\n";

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
    CHECK(lines.at(0) == R"({"model":"m"})");
    std::size_t well_formed = 0;
    for (const auto& line : lines) well_formed += !line.empty() && line.front() == '{' && line.back() == '}' ? 1 : 0;
    CHECK(well_formed == lines.size());
    for (const auto& entry : std::filesystem::directory_iterator(folder.path()))
        CHECK(entry.path().filename().string().find(".tmp.") == std::string::npos);
}

TEST_CASE("a recorder killed with SIGKILL leaves its last flush readable") {
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
    const auto file = midi::read_smf(folder / "killed.mid").file;
    REQUIRE(file.tracks.size() == 3);
    CHECK(channel_events(file.tracks[1]).size() == 2);  // the held note, closed at the flush
    CHECK(channel_events(file.tracks[2]).size() == 2);
    CHECK(midi::extract_notes(file).size() == 2);
    CHECK(lines_of(folder / "killed.jsonl").size() == 4);
}
