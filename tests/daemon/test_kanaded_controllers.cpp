// Knobs and buttons through JACK: a player's controller messages into kanade:in move the
// settings and fire the actions [midi.cc] binds them to, and SIGHUP swaps the map.
#include "daemon/kanaded_fixture.hpp"

#include "kanade/io/config.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <thread>

using namespace kanade;
using namespace kanade::test;
using namespace std::chrono_literals;

namespace {

bool start_with_controllers(KanadedOnJack& kanaded, const std::string& table) {
    auto path = write_config(kanaded.folder, kanaded.port, "free");
    std::ofstream(path, std::ios::app) << table;
    kanaded.daemon = std::make_unique<ChildProcess>(
        std::vector<std::string>{kanaded_binary.string(), "--config", path.string()}, kanaded.folder / "kanaded.log");
    return wait_for_status(kanaded.osc, *kanaded.daemon).has_value();
}

void move(JackMidiClient& player, int channel, int controller, int value) {
    const std::uint8_t bytes[] = {static_cast<std::uint8_t>(0xB0 | (channel - 1)),
                                  static_cast<std::uint8_t>(controller), static_cast<std::uint8_t>(value)};
    player.send_event(bytes, 3);
}

// Waits (up to `limit`) for /kanade/status's `key` to read `expected`; returns the last reading.
float status_number(KanadedOnJack& kanaded, const std::string& key, float expected,
                    std::chrono::milliseconds limit = 5000ms) {
    float last = -1;
    const auto give_up = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < give_up) {
        if (auto status = kanaded.status()) {
            if (auto value = status_value(*status, key)) {
                last = std::holds_alternative<float>(*value) ? std::get<float>(*value)
                                                             : static_cast<float>(std::get<std::int32_t>(*value));
                if (std::abs(last - expected) < 0.01f) return last;
            }
        }
        std::this_thread::sleep_for(50ms);
    }
    return last;
}

// The first move after connecting: repeated (a knob's move can be) until `key` reads
// `expected`, since one sent before JACK makes the new connection live is lost.
float turn_until(KanadedOnJack& kanaded, JackMidiClient& player, int channel, int controller, int value,
                 const std::string& key, float expected) {
    float last = -1;
    for (int attempt = 0; attempt < 5 && std::abs(last - expected) >= 0.01f; ++attempt) {
        move(player, channel, controller, value);
        last = status_number(kanaded, key, expected, 1s);
    }
    return last;
}

}  // namespace

TEST_CASE(
    "the shipped knob map: controller 27 on any channel moves the tempo over 60..200 BPM, /kanade/get reads the "
    "knobs") {
    if (!have_servers()) return;
    KanadedOnJack kanaded;
    REQUIRE_MESSAGE(kanaded.start("free"), kanaded.output());
    JackMidiClient player("player");
    REQUIRE(player.connect(player.out_name(), "kanade:in"));

    CHECK(turn_until(kanaded, player, 1, 27, 127, "tempo", 200) == doctest::Approx(200));
    move(player, 9, 27, 0);
    CHECK(status_number(kanaded, "tempo", 60) == doctest::Approx(60));
    move(player, 1, 26, 64);   // polyphony 1..6: the middle is 4
    move(player, 1, 21, 127);  // temperature 0.2..2
    std::this_thread::sleep_for(500ms);
    auto polyphony = kanaded.osc.request({"/kanade/get", {std::string("/kanade/polyphony")}}, "/kanade/get");
    REQUIRE(polyphony);
    CHECK(std::get<std::string>(polyphony->arguments.at(0)) == "/kanade/polyphony");
    CHECK(std::get<std::int32_t>(polyphony->arguments.at(1)) == 4);
    auto temperature = kanaded.osc.request({"/kanade/get", {std::string("engine.temperature")}}, "/kanade/get");
    REQUIRE(temperature);
    CHECK(std::get<float>(temperature->arguments.at(1)) == doctest::Approx(2.0));
    auto tempo = kanaded.osc.request({"/kanade/get", {std::string("/kanade/tempo")}}, "/kanade/get");
    REQUIRE(tempo);
    CHECK(std::get<float>(tempo->arguments.at(1)) == doctest::Approx(60));
    auto unknown = kanaded.osc.request({"/kanade/get", {std::string("/kanade/volume")}}, "/kanade/fail");
    REQUIRE(unknown);
    CHECK(std::get<std::string>(unknown->arguments.at(1)).find("no setting at '/kanade/volume'") != std::string::npos);
    CHECK(kanaded.output().find("MIDI cc") == std::string::npos);
    REQUIRE_MESSAGE(kanaded.daemon->running(), kanaded.output());
    auto exit_code = kanaded.terminate();
    REQUIRE_MESSAGE(exit_code, kanaded.output());
    CHECK(*exit_code == 0);
}

TEST_CASE("a [midi.cc] map of buttons on a channel and a narrowed knob, and SIGHUP swaps the map") {
    if (!have_servers()) return;
    KanadedOnJack kanaded;
    REQUIRE_MESSAGE(start_with_controllers(kanaded,
                                           "[midi.cc]\nstart = 19\nstop = { cc = 20, channel = 3 }\n"
                                           "tempo = { cc = 27, low = 90, high = 110 }\n"),
                    kanaded.output());
    JackMidiClient player("player");
    REQUIRE(player.connect(player.out_name(), "kanade:in"));

    CHECK(turn_until(kanaded, player, 1, 27, 127, "tempo", 110) == doctest::Approx(110));
    CHECK(status_number(kanaded, "playing", 1) == 1);
    move(player, 1, 20, 127);  // the stop button is on channel 3 only
    std::this_thread::sleep_for(500ms);
    CHECK(status_number(kanaded, "playing", 1) == 1);
    move(player, 3, 20, 127);
    CHECK(status_number(kanaded, "playing", 0) == 0);
    move(player, 3, 20, 0);  // its release does nothing
    move(player, 1, 19, 127);
    CHECK(status_number(kanaded, "playing", 1) == 1);

    // A new map by SIGHUP: the tempo moves to controller 28, 27 does nothing now.
    auto path = write_config(kanaded.folder, kanaded.port, "free");
    std::ofstream(path, std::ios::app) << "[midi.cc]\ntempo = 28\n";
    kanaded.daemon->signal(SIGHUP);
    std::this_thread::sleep_for(1000ms);
    move(player, 1, 28, 0);
    CHECK(status_number(kanaded, "tempo", 60) == doctest::Approx(60));
    move(player, 1, 27, 127);
    std::this_thread::sleep_for(500ms);
    CHECK(status_number(kanaded, "tempo", 60) == doctest::Approx(60));

    REQUIRE_MESSAGE(kanaded.daemon->running(), kanaded.output());
    auto exit_code = kanaded.terminate();
    REQUIRE_MESSAGE(exit_code, kanaded.output());
    CHECK(*exit_code == 0);
}

TEST_CASE("MIDI learn over OSC: the next controller moved drives the setting, and the config file keeps it") {
    if (!have_servers()) return;
    KanadedOnJack kanaded;
    REQUIRE_MESSAGE(kanaded.start("free"), kanaded.output());
    JackMidiClient player("player");
    REQUIRE(player.connect(player.out_name(), "kanade:in"));

    auto refused = kanaded.osc.request({"/kanade/learn", {std::string("volume")}}, "/kanade/fail");
    REQUIRE(refused);
    CHECK(std::get<std::string>(refused->arguments.at(1)).find("unknown target 'volume'") != std::string::npos);

    CHECK(turn_until(kanaded, player, 1, 27, 127, "tempo", 200) == doctest::Approx(200));  // the shipped knob
    kanaded.osc.send({"/kanade/learn", {std::string("tempo")}});
    std::this_thread::sleep_for(300ms);
    move(player, 2, 30, 127);  // names the controller; sets nothing
    auto learned = kanaded.osc.receive(3000ms);
    REQUIRE_MESSAGE(learned, kanaded.output());
    CHECK(learned->address == "/kanade/learned");
    CHECK(std::get<std::string>(learned->arguments.at(0)) == "tempo");
    CHECK(std::get<std::int32_t>(learned->arguments.at(1)) == 30);
    CHECK(std::get<std::int32_t>(learned->arguments.at(2)) == 2);
    CHECK(status_number(kanaded, "tempo", 200) == doctest::Approx(200));

    move(player, 2, 30, 0);
    CHECK(status_number(kanaded, "tempo", 60) == doctest::Approx(60));
    move(player, 1, 27, 127);  // the shipped tempo knob gave way to the learned one
    std::this_thread::sleep_for(500ms);
    CHECK(status_number(kanaded, "tempo", 60) == doctest::Approx(60));

    // The file holds the learned map and still reads as the rest of what it said.
    const auto saved = io::load_config(kanaded.folder / "kanade.toml");
    CHECK(std::find(saved.midi.controllers.begin(), saved.midi.controllers.end(),
                    io::ControllerBinding{"tempo", 30, 2}) != saved.midi.controllers.end());
    CHECK(saved.midi.controllers.size() == io::DaemonConfig{}.midi.controllers.size());
    CHECK(saved.osc.port == kanaded.port);
    CHECK(saved.midi.ports.backend == "jack");

    REQUIRE_MESSAGE(kanaded.daemon->running(), kanaded.output());
    auto exit_code = kanaded.terminate();
    REQUIRE_MESSAGE(exit_code, kanaded.output());
    CHECK(*exit_code == 0);
}
