#include "kanade/io/midi_ports.hpp"

#include "jack_server.hpp"
#include "../skip.hpp"

#include <doctest/doctest.h>

#include <jack/jack.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using kanade::io::MidiPorts;
using kanade::io::MidiPortsConfig;
using kanade::midi::Message;
using kanade::test::JackMidiClient;
using kanade::test::JackServer;
using kanade::test::ScopedJackServerName;
using namespace std::chrono_literals;

namespace {

MidiPortsConfig jack_config(std::string connect_in = "", std::string connect_out = "") {
    MidiPortsConfig config;
    config.backend = "jack";
    config.connect_in = std::move(connect_in);
    config.connect_out = std::move(connect_out);
    return config;
}

// Pops until `count` messages came or `limit` passed.
std::vector<Message> pop_inputs(MidiPorts& ports, std::size_t count, std::chrono::milliseconds limit = 3s) {
    std::vector<Message> messages;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (messages.size() < count && std::chrono::steady_clock::now() < deadline) {
        Message message;
        if (ports.pop_input(message))
            messages.push_back(message);
        else
            std::this_thread::sleep_for(1ms);
    }
    return messages;
}

std::vector<Message> pop_all(MidiPorts& ports) {
    std::vector<Message> messages;
    Message message;
    while (ports.pop_input(message)) messages.push_back(message);
    return messages;
}

template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds limit = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

bool same_bytes(const Message& a, const Message& b) {
    return a.size == b.size && a.bytes[0] == b.bytes[0] && (a.size < 2 || a.bytes[1] == b.bytes[1]) &&
           (a.size < 3 || a.bytes[2] == b.bytes[2]);
}

bool skip_without_jackd() {
    if (JackServer::available()) return false;
    kanade::test::skip("jackd", "jackd is not installed");
    return true;
}

}  // namespace

TEST_CASE("MIDI ports: kanade:in and kanade:out on a JACK server") {
    if (skip_without_jackd()) return;
    JackServer server;
    MidiPorts ports(jack_config());
    REQUIRE(ports.available());
    CHECK(ports.backend() == "jack");
    CHECK(ports.status().find("kanade:in") != std::string::npos);

    JackMidiClient tester;
    const char** names = jack_get_ports(tester.client(), "^kanade:", JACK_DEFAULT_MIDI_TYPE, 0);
    REQUIRE(names != nullptr);
    std::vector<std::string> found;
    for (int i = 0; names[i]; ++i) found.emplace_back(names[i]);
    jack_free(names);
    CHECK(found == std::vector<std::string>{"kanade:in", "kanade:out"});
    CHECK((jack_port_flags(jack_port_by_name(tester.client(), "kanade:in")) & JackPortIsInput) != 0);
    CHECK((jack_port_flags(jack_port_by_name(tester.client(), "kanade:out")) & JackPortIsOutput) != 0);
    CHECK_FALSE(ports.maintain());  // nothing to do
}

TEST_CASE("MIDI ports: notes into kanade:in come out of pop_input in order, stamped") {
    if (skip_without_jackd()) return;
    JackServer server;
    MidiPorts ports(jack_config());
    REQUIRE(ports.available());
    JackMidiClient tester;
    REQUIRE(tester.connect(tester.out_name(), "kanade:in"));

    std::vector<Message> sent;
    const auto before = kanade::test::jack_detail::monotonic_ns();
    for (int i = 0; i < 20; ++i) {
        sent.push_back(i % 2 == 0 ? Message::note_on(3, 60 + i, 100) : Message::note_off(3, 60 + i - 1));
        REQUIRE(tester.send(sent.back()));
        std::this_thread::sleep_for(2ms);
    }
    sent.push_back(Message::realtime(0xF8));  // MIDI clock passes: the daemon follows it
    REQUIRE(tester.send(sent.back()));
    auto got = pop_inputs(ports, sent.size());
    const auto after = kanade::test::jack_detail::monotonic_ns();
    REQUIRE(got.size() == sent.size());
    for (std::size_t i = 0; i < sent.size(); ++i) {
        CAPTURE(i);
        CHECK(same_bytes(got[i], sent[i]));
        if (i > 0) CHECK(got[i].time_ns >= got[i - 1].time_ns);
    }
    CHECK(got.back().time_ns > got.front().time_ns);
    CHECK(got.front().time_ns >= before - 100'000'000);  // same clock, give or take a late cycle
    CHECK(got.back().time_ns <= after + 100'000'000);
    CHECK(ports.counters().received == sent.size());
    CHECK(ports.counters().input_dropped == 0);
}

TEST_CASE("MIDI ports: send() reaches a client on kanade:out, future times at their frame") {
    if (skip_without_jackd()) return;
    JackServer server;
    MidiPorts ports(jack_config());
    REQUIRE(ports.available());
    JackMidiClient tester;
    REQUIRE(tester.connect("kanade:out", tester.in_name()));

    std::vector<Message> sent;
    for (int i = 0; i < 20; ++i) {
        sent.push_back(Message::control_change(0, 7, i));
        REQUIRE(ports.send(sent.back()));
    }
    auto got = tester.received(sent.size());
    REQUIRE(got.size() == sent.size());
    for (std::size_t i = 0; i < sent.size(); ++i) CHECK(same_bytes(got[i], sent[i]));

    // Due 100 ms from now: it must leave in the cycle and at the frame of that time.
    const auto due = kanade::test::jack_detail::monotonic_ns() + 100'000'000;
    REQUIRE(ports.send(Message::note_on(0, 64, 90, due)));
    got = tester.received(sent.size() + 1);
    REQUIRE(got.size() == sent.size() + 1);
    CHECK(got.back().bytes[1] == 64);
    CHECK(std::llabs(got.back().time_ns - due) < 1'000'000);
    CHECK(ports.counters().sent == sent.size() + 1);
    CHECK(ports.counters().output_dropped == 0);
}

TEST_CASE("MIDI ports: a burst beyond the input queue is counted, not fatal") {
    if (skip_without_jackd()) return;
    JackServer server;
    MidiPorts ports(jack_config());
    REQUIRE(ports.available());
    JackMidiClient tester;
    REQUIRE(tester.connect(tester.out_name(), "kanade:in"));

    constexpr std::uint64_t burst = 10'000;
    std::uint64_t queued = 0;
    for (std::uint64_t i = 0; i < burst; ++i)
        queued += tester.send(Message::control_change(0, static_cast<int>(i >> 7), static_cast<int>(i & 0x7F)));
    REQUIRE(queued == burst);
    REQUIRE(tester.wait_until_sent());
    // Nobody pops meanwhile: whatever does not fit in the queue is dropped and counted.
    REQUIRE(eventually([&] {
        auto counters = ports.counters();
        return counters.received + counters.input_dropped == burst;
    }));
    auto counters = ports.counters();
    MESSAGE("burst of " << burst << ": " << counters.received << " queued, " << counters.input_dropped << " dropped");
    CHECK(counters.received > 0);
    auto got = pop_all(ports);
    CHECK(got.size() == counters.received);
    std::size_t out_of_order = 0;  // the oldest survive, in order
    for (std::size_t i = 0; i < got.size(); ++i)
        out_of_order += ((static_cast<std::uint64_t>(got[i].bytes[1]) << 7) | got[i].bytes[2]) != i;
    CHECK(out_of_order == 0);

    REQUIRE(tester.send(Message::note_on(0, 60, 1)));
    got = pop_inputs(ports, 1);
    REQUIRE(got.size() == 1);
    CHECK(same_bytes(got[0], Message::note_on(0, 60, 1)));
}

TEST_CASE("MIDI ports: SysEx is dropped and counted, also 70 KiB split across cycles") {
    if (skip_without_jackd()) return;
    JackServer server;
    MidiPorts ports(jack_config());
    REQUIRE(ports.available());
    JackMidiClient tester;
    REQUIRE(tester.connect(tester.out_name(), "kanade:in"));

    // 70 KiB in 256-byte events, far more than one cycle's port buffer; a clock tick sits
    // inside it, as MIDI allows.
    std::vector<std::uint8_t> big(70 * 1024, 0x35);
    big.front() = 0xF0;
    big[1000] = 0xF8;
    big.back() = 0xF7;
    REQUIRE(tester.send_split(big));
    REQUIRE(tester.send(Message::note_on(1, 61, 70)));
    // A small SysEx in one event, and one cut short by a note instead of F7.
    REQUIRE(tester.send_event({0xF0, 0x7E, 0x7F, 0x06, 0x01, 0xF7}));
    REQUIRE(tester.send_event({0xF0, 0x43, 0x10, 0x4C}));
    REQUIRE(tester.send(Message::note_on(1, 62, 71)));
    REQUIRE(tester.send(Message::note_off(1, 61)));

    auto got = pop_inputs(ports, 4);
    REQUIRE(got.size() == 4);
    CHECK(same_bytes(got[0], Message::realtime(0xF8)));
    CHECK(same_bytes(got[1], Message::note_on(1, 61, 70)));
    CHECK(same_bytes(got[2], Message::note_on(1, 62, 71)));
    CHECK(same_bytes(got[3], Message::note_off(1, 61)));
    std::this_thread::sleep_for(50ms);
    CHECK(pop_all(ports).empty());  // not one SysEx byte leaked as a message
    CHECK(ports.counters().sysex_dropped == 3);
    CHECK(ports.counters().input_dropped == 0);
}

TEST_CASE("MIDI ports: connect patterns, and the JACK server killed and back") {
    if (skip_without_jackd()) return;
    int signal_number = SIGKILL;
    SUBCASE("killed (SIGKILL)") { signal_number = SIGKILL; }
    SUBCASE("stopped (SIGTERM)") { signal_number = SIGTERM; }
    JackServer server;
    auto tester = std::make_unique<JackMidiClient>("keyboard");
    MidiPorts ports(jack_config("keyboard:out", "keyboard:in"));
    REQUIRE(ports.available());
    // Ports present at start-up are connected at once.
    CHECK(tester->connected("keyboard:out", "kanade:in"));
    CHECK(tester->connected("keyboard:in", "kanade:out"));

    auto round_trip = [&](int pitch) {
        REQUIRE(tester->send(Message::note_on(0, pitch, 100)));
        auto in = pop_inputs(ports, 1);
        REQUIRE(in.size() == 1);
        CHECK(in[0].bytes[1] == pitch);
        REQUIRE(ports.send(Message::note_off(0, pitch)));
        auto out = tester->received(1);
        REQUIRE(out.size() == 1);
        CHECK(same_bytes(out[0], Message::note_off(0, pitch)));
    };
    round_trip(60);

    tester.reset();
    server.stop(signal_number);
    REQUIRE(eventually([&] { return ports.maintain() || !ports.available(); }));
    CHECK_FALSE(ports.available());
    CHECK_FALSE(ports.send(Message::note_on(0, 1, 1)));
    MESSAGE("while the server is away: " << ports.status());

    server.start();
    REQUIRE(eventually([&] {
        ports.maintain();
        return ports.available();
    }));
    CHECK(ports.counters().reconnects == 1);
    MESSAGE("back: " << ports.status());

    // The keyboard comes back after kanade did: maintain() connects it as it appears.
    tester = std::make_unique<JackMidiClient>("keyboard");
    CHECK(ports.maintain());
    CHECK(tester->connected("keyboard:out", "kanade:in"));
    CHECK(tester->connected("keyboard:in", "kanade:out"));
    round_trip(62);

    // A connection taken down by hand stays down.
    REQUIRE(jack_disconnect(tester->client(), "keyboard:out", "kanade:in") == 0);
    CHECK_FALSE(ports.maintain());
    CHECK_FALSE(tester->connected("keyboard:out", "kanade:in"));
}

TEST_CASE("MIDI ports: backend jack waits for a server that starts later") {
    if (skip_without_jackd()) return;
    JackServer server;
    server.stop();
    MidiPorts ports(jack_config());
    CHECK(ports.backend() == "jack");
    CHECK_FALSE(ports.available());
    CHECK(ports.status().find("no JACK server running") != std::string::npos);
    CHECK_FALSE(ports.send(Message::note_on(0, 60, 100)));
    CHECK_FALSE(ports.maintain());

    server.start();
    REQUIRE(eventually([&] {
        ports.maintain();
        return ports.available();
    }));
    CHECK(ports.status().find("kanade:in") != std::string::npos);
    CHECK(ports.send(Message::note_on(0, 60, 100)));
}

TEST_CASE("MIDI ports: backend none") {
    MidiPortsConfig config;
    config.backend = "none";
    MidiPorts ports(config);
    CHECK_FALSE(ports.available());
    CHECK(ports.backend() == "none");
    CHECK(ports.status().find("none") != std::string::npos);
    CHECK_FALSE(ports.send(Message::note_on(0, 60, 100)));
    Message message;
    CHECK_FALSE(ports.pop_input(message));
    CHECK_FALSE(ports.maintain());
    CHECK(ports.counters().output_dropped == 1);
}

TEST_CASE("MIDI ports: auto without ALSA sequencer or JACK server is none, and says why") {
    ScopedJackServerName nobody_there;
    MidiPortsConfig config;  // auto
    MidiPorts ports(config);
    if (std::filesystem::exists("/dev/snd/seq")) {
        MESSAGE("this machine has an ALSA sequencer: auto picked " << ports.backend());
        return;
    }
    CHECK(ports.backend() == "none");
    CHECK_FALSE(ports.available());
    CHECK(ports.status() == "no ALSA sequencer (/dev/snd/seq) and no JACK server running");
    CHECK_FALSE(ports.send(Message::note_on(0, 60, 100)));
}

TEST_CASE("MIDI ports: backend alsa without a sequencer is unavailable, not fatal") {
    if (std::filesystem::exists("/dev/snd/seq")) return;
    MidiPortsConfig config;
    config.backend = "alsa";
    MidiPorts ports(config);
    CHECK(ports.backend() == "alsa");
    CHECK_FALSE(ports.available());
    CHECK(ports.status().find("alsa") != std::string::npos);
    CHECK_FALSE(ports.send(Message::note_on(0, 60, 100)));
}

TEST_CASE("MIDI ports: an unknown backend name is an error") {
    MidiPortsConfig config;
    config.backend = "coreaudio";
    CHECK_THROWS_AS(MidiPorts{config}, std::invalid_argument);
}
