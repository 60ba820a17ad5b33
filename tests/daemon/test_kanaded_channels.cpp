// Which session hears which MIDI channel, and what SIGHUP may change about it, end to end
// on jackd's dummy backend: sessions take consecutive channels, wrapping after 16, the
// same way in and out; a reload never races the input thread.
#include "daemon/kanaded_fixture.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <set>
#include <thread>

using namespace kanade;
using namespace kanade::test;
using namespace std::chrono_literals;

namespace {

// The config write_config() makes, with `midi` lines added to its [midi] table.
void write_config_with_midi(KanadedOnJack& kanaded, const std::string& mode, const std::string& engine_extra,
                            const std::string& midi) {
    auto path = write_config(kanaded.folder, kanaded.port, mode, engine_extra);
    std::ifstream in(path);
    std::string text{std::istreambuf_iterator<char>(in), {}};
    const std::string table = "[midi]\n";
    text.insert(text.find(table) + table.size(), midi);
    std::ofstream(path) << text;
}

bool start_with_midi(KanadedOnJack& kanaded, const std::string& mode, const std::string& engine_extra,
                     const std::string& midi) {
    write_config_with_midi(kanaded, mode, engine_extra, midi);
    kanaded.daemon = std::make_unique<ChildProcess>(
        std::vector<std::string>{kanaded_binary.string(), "--config", (kanaded.folder / "kanade.toml").string()},
        kanaded.folder / "kanaded.log");
    return wait_for_status(kanaded.osc, *kanaded.daemon).has_value();
}

// A short call on `channel` (0..15), then the channels kanade's notes came back on.
std::set<int> answer_channels(JackMidiClient& player, int channel) {
    const auto before = player.received(0, 0ms).size();
    for (int pitch : {60, 64}) {
        const std::uint8_t on[] = {static_cast<std::uint8_t>(0x90 | channel), static_cast<std::uint8_t>(pitch), 90};
        const std::uint8_t off[] = {static_cast<std::uint8_t>(0x80 | channel), static_cast<std::uint8_t>(pitch), 0};
        player.send_event(on, 3);
        std::this_thread::sleep_for(100ms);
        player.send_event(off, 3);
    }
    std::this_thread::sleep_for(2500ms);  // 4 silent steps end the call, 8 steps of answer
    auto all = player.received(0, 0ms);
    std::set<int> channels;
    for (auto it = all.begin() + static_cast<std::ptrdiff_t>(before); it != all.end(); ++it)
        if (it->is_note_on()) channels.insert(it->channel());
    return channels;
}

}  // namespace

TEST_CASE("sessions past channel 16 wrap to channel 1 for what they hear, as for what they play") {
    if (!have_servers()) return;
    KanadedOnJack kanaded;
    REQUIRE_MESSAGE(start_with_midi(kanaded, "call-response", "sessions = 2\n", "channel = 16\n"), kanaded.output());
    JackMidiClient player("player");
    REQUIRE(player.connect(player.out_name(), "kanade:in"));
    REQUIRE(player.connect("kanade:out", player.in_name()));

    CHECK(answer_channels(player, 0) == std::set<int>{0});    // channel 1: the second session
    CHECK(answer_channels(player, 15) == std::set<int>{15});  // channel 16: the first
    CHECK(answer_channels(player, 5).empty());                // nobody listens on channel 6

    auto exit_code = kanaded.terminate();
    REQUIRE_MESSAGE(exit_code, kanaded.output());
    CHECK(*exit_code == 0);
}

TEST_CASE("SIGHUP with a new session count keeps the old one and says so, the new channel applies") {
    if (!have_servers()) return;
    KanadedOnJack kanaded;
    REQUIRE_MESSAGE(start_with_midi(kanaded, "call-response", "", ""), kanaded.output());
    JackMidiClient player("player");
    REQUIRE(player.connect(player.out_name(), "kanade:in"));
    REQUIRE(player.connect("kanade:out", player.in_name()));

    write_config_with_midi(kanaded, "call-response", "sessions = 4\n", "channel = 14\n");
    kanaded.daemon->signal(SIGHUP);
    std::this_thread::sleep_for(1500ms);
    REQUIRE_MESSAGE(kanaded.daemon->running(), kanaded.output());
    // One session still, which hears every channel and now answers on channel 14.
    for (int channel : {13, 14, 15, 0}) {
        CAPTURE(channel);
        CHECK(answer_channels(player, channel) == std::set<int>{13});
    }
    REQUIRE_MESSAGE(kanaded.daemon->running(), kanaded.output());
    CHECK(kanaded.output().find("engine.sessions = 4 takes a restart; keeping 1") != std::string::npos);

    auto exit_code = kanaded.terminate();
    REQUIRE_MESSAGE(exit_code, kanaded.output());
    CHECK(*exit_code == 0);
    check_nothing_hangs(player.received(0, 500ms), kanaded.output());
}
