// kanaded in an Ableton Link session with a real peer, Debian's LinkHut, inside a network
// namespace the test makes (nothing leaves it): it sees the peer, follows LinkHut's tempo
// change, sends its own tempo to the session, starts and stops with it both ways, and
// every note it plays starts on the session's step grid in its place in the Link bar, as
// a third peer (this test) reads the timeline.
#include "daemon/kanaded_fixture.hpp"
#include "io/private_network.hpp"

#include "kanade/io/link_session.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <fstream>
#include <thread>

using namespace kanade;
using namespace kanade::test;
using namespace std::chrono_literals;

namespace {

const std::filesystem::path linkhut_binary = "/usr/bin/LinkHut";

// Polls /kanade/status until `holds(status)` or `limit` passes; how long it took, if it held.
template <typename Holds>
std::optional<std::chrono::milliseconds> wait_for(KanadedOnJack& kanaded, Holds holds,
                                                  std::chrono::milliseconds limit) {
    const auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < limit) {
        if (auto status = kanaded.status(); status && holds(*status))
            return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
        std::this_thread::sleep_for(20ms);
    }
    return std::nullopt;
}

struct PlayedNote {
    std::int64_t time_ns;  // CLOCK_MONOTONIC, as the scheduler sent it
    std::int64_t step;     // kanaded's grid step
};

// The note-ons kanaded played in a recording folder's journal.
std::vector<PlayedNote> machine_notes(const std::filesystem::path& dir) {
    std::vector<PlayedNote> notes;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().extension() != ".jsonl") continue;
        std::ifstream in(entry.path());
        std::string line;
        std::int64_t start_ns = -1;
        while (std::getline(in, line)) {
            const auto event = nlohmann::json::parse(line);
            if (event.contains("monotonic_start_ns")) start_ns = event["monotonic_start_ns"].get<std::int64_t>();
            if (event.value("part", "") != "machine" || start_ns < 0) continue;
            const auto& bytes = event["msg"];
            if ((bytes[0].get<int>() & 0xF0) != 0x90 || bytes[2].get<int>() == 0) continue;
            notes.push_back(
                {start_ns + std::llround(event["t"].get<double>() * 1e9), event["step"].get<std::int64_t>()});
        }
    }
    return notes;
}

}  // namespace

TEST_CASE(
    "kanaded in an Ableton Link session with LinkHut: peers, tempo and transport both ways, notes on the Link grid and "
    "bar") {
    if (!have_servers()) return;
    if (!std::filesystem::exists(linkhut_binary)) {
        skip("linkhut", "no LinkHut (Debian's ableton-link-utils)");
        return;
    }
    if (!io::link_available()) {
        skip("linkhut", "this build has no Ableton Link (ableton-link-dev)");
        return;
    }
    if (auto reason = enter_private_network(); !reason.empty()) {
        skip("netns", reason);
        return;
    }
    std::signal(SIGPIPE, SIG_IGN);  // typing to a LinkHut that died must fail the test, not kill it

    KanadedOnJack kanaded;  // after entering the namespace: its sockets live there
    ChildProcess linkhut({linkhut_binary.string()}, kanaded.folder / "linkhut.log", ChildProcess::Input::pipe);
    // LinkHut, a JACK client, quits on 'q' and leaves JACK as a client should. Killed, it
    // can leave jackd hanging at its own stop until killed too, and a killed jackd keeps
    // its slot in JACK's registry of 8 servers: a few runs later no jackd starts here.
    struct QuitFirst {
        ChildProcess& linkhut;
        ~QuitFirst() {
            if (linkhut.running() && linkhut.type("q")) linkhut.wait_for_exit(5s);
        }
    } quit_first{linkhut};
    std::this_thread::sleep_for(300ms);
    REQUIRE(linkhut.type("a"));  // LinkHut joins Link at 120 BPM, stopped
    std::this_thread::sleep_for(150ms);
    REQUIRE(linkhut.type("s"));  // and shares start and stop
    REQUIRE_MESSAGE(kanaded.start("free", "", 120, "link = true\nlink_start_stop_sync = true\n"), kanaded.output());

    auto one_peer = wait_for(
        kanaded, [](const io::OscMessage& s) { return status_int(s, "link_peers") == 1; }, 20s);
    REQUIRE_MESSAGE(one_peer, kanaded.output());
    MESSAGE("kanaded saw LinkHut after " << one_peer->count() << " ms");
    CHECK(status_text(*kanaded.status(), "clock") == "link");

    // The session is stopped: so is kanaded, until LinkHut starts it.
    auto playing = [](int expected) {
        return [expected](const io::OscMessage& s) { return status_int(s, "playing") == expected; };
    };
    CHECK(wait_for(kanaded, playing(0), 5s));
    REQUIRE(linkhut.type(" "));
    CHECK_MESSAGE(wait_for(kanaded, playing(1), 5s), "LinkHut's start did not start kanaded");

    // LinkHut's tempo up 5 BPM: kanaded plays at the session's tempo.
    for (int press = 0; press < 5; ++press) {  // a key at a time: LinkHut reads one per look at its input
        if (press > 0) std::this_thread::sleep_for(150ms);
        REQUIRE(linkhut.type("e"));
    }
    auto followed = wait_for(
        kanaded, [](const io::OscMessage& s) { return std::abs(status_float(s, "tempo") - 125.0F) < 0.01F; }, 10s);
    CHECK_MESSAGE(followed, "tempo stayed " << status_float(*kanaded.status(), "tempo"));
    if (followed)
        MESSAGE("kanaded played LinkHut's new tempo " << followed->count()
                                                      << " ms after its last key (a beat: 480 ms; status polled "
                                                         "every 20 ms)");

    // Our tempo goes to the session: LinkHut shows it.
    kanaded.osc.send({"/kanade/tempo", {100.0F}});
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (linkhut.output().find("| 100.00") == std::string::npos && std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(50ms);
    CHECK_MESSAGE(linkhut.output().find("| 100.00") != std::string::npos, "LinkHut never showed 100 BPM");

    // A third peer reads the session's timeline; what kanaded plays must sit on it.
    io::LinkSession observer({100, 4, false});
    const auto joined = std::chrono::steady_clock::now() + 10s;
    while (observer.peers() < 2 && std::chrono::steady_clock::now() < joined) std::this_thread::sleep_for(20ms);
    REQUIRE(observer.peers() == 2);
    std::this_thread::sleep_for(1s);  // its clock measurements with the others settle
    const auto record_dir = kanaded.folder / "take";
    kanaded.osc.send({"/kanade/record/start", {record_dir.string()}});
    std::this_thread::sleep_for(8s);
    kanaded.osc.send({"/kanade/record/stop", {}});
    std::this_thread::sleep_for(500ms);
    const auto notes = machine_notes(record_dir);
    REQUIRE_MESSAGE(notes.size() >= 8, "kanaded played " << notes.size() << " notes in 8 s");

    constexpr int steps_per_beat = 4, steps_per_bar = 16;
    std::vector<double> errors_ms;
    int off_the_bar = 0;
    for (const auto& note : notes) {
        const auto moment = observer.at(note.time_ns);
        const double link_step = moment.beat * steps_per_beat;
        const double nearest = std::round(link_step);
        errors_ms.push_back(std::abs(link_step - nearest) * 60e3 / (moment.bpm * steps_per_beat));
        const auto place = [](std::int64_t step) { return ((step % steps_per_bar) + steps_per_bar) % steps_per_bar; };
        if (place(static_cast<std::int64_t>(nearest)) != place(note.step)) ++off_the_bar;
    }
    std::sort(errors_ms.begin(), errors_ms.end());
    const double median = errors_ms[errors_ms.size() / 2];
    MESSAGE(notes.size() << " notes: off Link's step grid by median " << median << " ms, at most " << errors_ms.back()
                         << " ms (the wake-up of a scheduler at normal priority included)");
    CHECK(median < 1.0);
    CHECK_MESSAGE(off_the_bar == 0, off_the_bar << " notes fell elsewhere in the Link bar than in kanaded's");

    // Our stop stops the session: LinkHut shows it.
    kanaded.osc.send({"/kanade/stop", {}});
    auto linkhut_state = [&linkhut] {
        const auto output = linkhut.output();
        return output.rfind("[stopped]") > output.rfind("[playing]") ? "stopped" : "playing";
    };
    const auto stop_give_up = std::chrono::steady_clock::now() + 5s;
    while (std::string(linkhut_state()) != "stopped" && std::chrono::steady_clock::now() < stop_give_up)
        std::this_thread::sleep_for(50ms);
    CHECK(std::string(linkhut_state()) == "stopped");
    CHECK(kanaded.terminate() == 0);
}
