// kanaded end to end, with real servers: jackd's dummy backend for MIDI, UDP on
// 127.0.0.1 for OSC. Each case starts its own jackd and kanaded and stops them.
#include "kanade/midi/smf.hpp"

#include "daemon/kanaded_fixture.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <thread>

using namespace kanade;
using namespace kanade::test;
using namespace std::chrono_literals;

TEST_CASE("kanaded answers a call on kanade:out within one step of the phrase end, and records both parts") {
    if (!have_servers()) return;
    test::JackServer jack;
    test::TemporaryFolder folder;
    int port = test::free_udp_port();
    auto config = write_config(folder, port, "call-response", "", 120);  // 125 ms steps
    test::ChildProcess daemon(
        {kanaded_binary.string(), "--config", config.string(), "--record", (folder / "rec").string()},
        folder / "kanaded.log");
    test::OscTestClient osc(port);
    REQUIRE_MESSAGE(wait_for_status(osc, daemon), daemon.output());

    test::JackMidiClient player("player");
    REQUIRE(player.connect(player.out_name(), "kanade:in"));
    REQUIRE(player.connect("kanade:out", player.in_name()));
    std::this_thread::sleep_for(300ms);
    CHECK(player.received().empty());  // listening, silent

    std::int64_t last_release = 0;
    for (int pitch : {60, 62, 64, 67}) {
        play_note(player, pitch, 90, 100ms);
        player.wait_until_sent();
        last_release = test::jack_detail::monotonic_ns();
        std::this_thread::sleep_for(25ms);
    }
    auto received = player.received(1, 4s);
    REQUIRE_MESSAGE(!received.empty(), daemon.output());
    auto first = std::find_if(received.begin(), received.end(), [](const midi::Message& m) { return m.is_note_on(); });
    REQUIRE(first != received.end());
    const double step_ms = 125;
    double after_release_ms = static_cast<double>(first->time_ns - last_release) / 1e6;
    MESSAGE("first answer note " << after_release_ms
                                 << " ms after the last release (phrase end: 4 silent steps = 500 ms)");
    // The phrase ends 4 silent steps after the last note (its step rounds to the grid,
    // half a step either way); the answer starts on the next step.
    CHECK(after_release_ms >= (4 - 0.5) * step_ms - 5);
    CHECK(after_release_ms <= (4 + 1 + 0.5) * step_ms + 20);

    std::this_thread::sleep_for(1500ms);
    daemon.signal(SIGTERM);
    auto exit_code = daemon.wait_for_exit(10s);
    REQUIRE_MESSAGE(exit_code, daemon.output());
    CHECK(*exit_code == 0);
    // No note left hanging: every note-on kanade sent was ended.
    check_nothing_hangs(player.received(0, 500ms));

    std::vector<std::filesystem::path> recordings;
    for (const auto& entry : std::filesystem::directory_iterator(folder / "rec"))
        if (entry.path().extension() == ".mid") recordings.push_back(entry.path());
    REQUIRE(recordings.size() == 1);
    auto file = midi::read_smf(recordings.front()).file;
    REQUIRE(file.tracks.size() >= 3);
    auto note_ons = [](const midi::Track& track) {
        return std::count_if(track.events.begin(), track.events.end(), [](const midi::Event& e) {
            return e.kind == midi::EventKind::channel && e.command() == 0x90 && e.data.size() == 2 && e.data[1] > 0;
        });
    };
    CHECK(note_ons(file.tracks[1]) == 4);  // the human part
    CHECK(note_ons(file.tracks[2]) >= 1);  // the machine's answer
}

TEST_CASE("OSC steers kanaded, bad packets get /kanade/fail and it keeps playing, SIGHUP reloads") {
    if (!have_servers()) return;
    test::JackServer jack;
    test::TemporaryFolder folder;
    int port = test::free_udp_port();
    auto config = write_config(folder, port, "free");
    test::ChildProcess daemon({kanaded_binary.string(), "--config", config.string()}, folder / "kanaded.log");
    test::OscTestClient osc(port);
    auto status = wait_for_status(osc, daemon);
    REQUIRE_MESSAGE(status, daemon.output());
    CHECK(std::get<std::string>(*test::status_value(*status, "mode")) == "free");
    CHECK(std::get<std::string>(*test::status_value(*status, "device")) == "cpu");

    osc.send({"/kanade/tempo", {90.0f}});
    osc.send({"/kanade/mode", {std::string("call-response")}});
    status = osc.request({"/kanade/status", {}}, "/kanade/status");
    REQUIRE(status);
    CHECK(std::get<float>(*test::status_value(*status, "tempo")) == doctest::Approx(90));
    CHECK(std::get<std::string>(*test::status_value(*status, "mode")) == "call-response");
    osc.send({"/kanade/mode", {std::string("free")}});

    auto fail = osc.request({"/kanade/tempo", {std::string("fast")}}, "/kanade/fail");
    REQUIRE(fail);
    CHECK(std::get<std::string>(fail->arguments.at(0)) == "/kanade/tempo");
    fail = osc.request({"/kanade/tempo", {1000.0f}}, "/kanade/fail");
    REQUIRE(fail);
    CHECK(std::get<std::string>(fail->arguments.at(1)).find("tempo") != std::string::npos);
    fail = osc.request({"/kanade/no-such-thing", {}}, "/kanade/fail");
    REQUIRE(fail);
    osc.send_raw({'h', 'e', 'l', 'l', 'o', 0, 0, 0});  // not OSC at all
    auto malformed = osc.receive();
    REQUIRE(malformed);
    CHECK(malformed->address == "/kanade/fail");
    CHECK(std::get<std::string>(malformed->arguments.at(0)) == "(malformed)");
    osc.send_raw({'/', 'a', 0, 0});  // an address and no type-tag string (crashed scsynth)
    auto no_tags = osc.receive();
    REQUIRE(no_tags);
    CHECK(no_tags->address == "/kanade/fail");
    CHECK(std::get<std::string>(no_tags->arguments.at(0)) == "/a");
    fail = osc.request({"/kanade/model/load", {std::string("../../etc/passwd")}}, "/kanade/fail");
    REQUIRE(fail);
    CHECK(std::get<std::string>(fail->arguments.at(1)).find("outside the models folder") != std::string::npos);

    auto steps_before = status_int(*osc.request({"/kanade/status", {}}, "/kanade/status"), "steps");
    std::this_thread::sleep_for(600ms);
    status = osc.request({"/kanade/status", {}}, "/kanade/status");
    REQUIRE(status);
    CHECK(status_int(*status, "steps") > steps_before + 2);  // still playing

    // SIGHUP: the edited file's tempo takes effect, the daemon stays up.
    write_config(folder, port, "free", "", 140);
    daemon.signal(SIGHUP);
    std::this_thread::sleep_for(1500ms);
    REQUIRE(daemon.running());
    status = osc.request({"/kanade/status", {}}, "/kanade/status");
    REQUIRE(status);
    CHECK(std::get<float>(*test::status_value(*status, "tempo")) == doctest::Approx(140));

    daemon.signal(SIGTERM);
    auto exit_code = daemon.wait_for_exit(10s);
    REQUIRE_MESSAGE(exit_code, daemon.output());
    CHECK(*exit_code == 0);
}

TEST_CASE("a wrong configuration stops kanaded naming the file, line and key") {
    if (!std::filesystem::exists(kanaded_binary)) return;
    test::TemporaryFolder folder;
    auto config = folder / "bad.toml";
    std::ofstream(config) << "[engine]\nmode = \"free\"\ntemprature = 0.5\n";
    test::ChildProcess daemon({kanaded_binary.string(), "--config", config.string()}, folder / "kanaded.log");
    auto exit_code = daemon.wait_for_exit(20s);
    REQUIRE(exit_code);
    CHECK(*exit_code == 1);
    auto output = daemon.output();
    CHECK(output.find("bad.toml:3") != std::string::npos);
    CHECK(output.find("engine.temprature") != std::string::npos);

    std::ofstream(config, std::ios::trunc) << "[clock]\nbpm = 1000.0\n";
    test::ChildProcess again({kanaded_binary.string(), "--config", config.string()}, folder / "kanaded2.log");
    REQUIRE(again.wait_for_exit(20s));
    CHECK(again.output().find("clock.bpm") != std::string::npos);
    CHECK(again.output().find("bad.toml:2") != std::string::npos);
}

TEST_CASE("kanaded seeded from a MIDI file hears a window of it that ends on the file's bar line, and plays on") {
    if (!have_servers()) return;
    const auto seed = simutrans_dir / "18-Ride-that-train.mid";
    if (!std::filesystem::exists(seed)) {
        test::skip("corpus", seed.string() + " is not installed");
        return;
    }
    KanadedOnJack kanaded;
    REQUIRE_MESSAGE(kanaded.start("free", "seed_midi = \"" + seed.string() + "\"\n"), kanaded.output());
    JackMidiClient listener("listener");
    REQUIRE(listener.connect("kanade:out", listener.in_name()));
    CHECK_MESSAGE(!listener.received(1, 5s).empty(), kanaded.output());
    auto exit_code = kanaded.terminate();
    REQUIRE_MESSAGE(exit_code, kanaded.output());
    CHECK(*exit_code == 0);
    // The window the log names: the model's 64 tokens, ending past the file's start.
    const auto log = kanaded.output();
    const auto said = "seeded from " + seed.string() + " (tokens ";
    const auto named = log.find(said);
    REQUIRE_MESSAGE(named != std::string::npos, log);
    std::size_t begin = 0, end = 0;
    REQUIRE(std::sscanf(log.c_str() + named + said.size(), "%zu..%zu", &begin, &end) == 2);
    CHECK(end - begin == 64);
}
