// kanaded keeps playing through faults, on real servers (jackd's dummy backend, UDP on
// 127.0.0.1): the JACK server killed and restarted, a player gone mid-note, a corrupt
// model offered over OSC and by SIGHUP.
#include "daemon/kanaded_fixture.hpp"

#include <doctest/doctest.h>

#include <thread>

using namespace kanade;
using namespace kanade::test;
using namespace std::chrono_literals;

TEST_CASE("the JACK server killed and restarted: kanaded keeps its clock and its ports come back") {
    if (!have_servers()) return;
    KanadedOnJack kanaded;
    REQUIRE_MESSAGE(kanaded.start("free"), kanaded.output());
    {
        JackMidiClient listener("listener");
        REQUIRE(listener.port_exists("kanade:out"));
    }
    kanaded.jack.stop(SIGKILL);
    auto steps_before = status_int(*kanaded.status(), "steps");
    std::this_thread::sleep_for(1500ms);
    auto status = kanaded.status();
    REQUIRE_MESSAGE(status, kanaded.output());
    CHECK(status_int(*status, "steps") > steps_before + 5);  // the clock went on without JACK

    kanaded.jack.start();
    bool ports_back = false;
    for (int attempt = 0; attempt < 50 && !ports_back; ++attempt) {
        std::this_thread::sleep_for(200ms);
        JackMidiClient probe("probe");
        ports_back = probe.port_exists("kanade:out") && probe.port_exists("kanade:in");
    }
    REQUIRE_MESSAGE(ports_back, kanaded.output());
    JackMidiClient listener("listener");
    REQUIRE(listener.connect("kanade:out", listener.in_name()));
    auto notes = listener.received(1, 5s);
    CHECK_MESSAGE(!notes.empty(), "no notes after the restart");
    auto exit_code = kanaded.terminate();
    REQUIRE_MESSAGE(exit_code, kanaded.output());
    CHECK(*exit_code == 0);
}

TEST_CASE("a player gone mid-note: call-and-response still answers, and nothing hangs") {
    if (!have_servers()) return;
    KanadedOnJack kanaded;
    // 62.5 ms steps; a note held 8 steps (0.5 s) counts as released.
    REQUIRE_MESSAGE(kanaded.start("call-response", "max_note_steps = 8\n", 240), kanaded.output());
    JackMidiClient listener("listener");
    REQUIRE(listener.connect("kanade:out", listener.in_name()));
    {
        JackMidiClient player("player");
        REQUIRE(player.connect(player.out_name(), "kanade:in"));
        play_note(player, 60, 90, 100ms);
        std::uint8_t stuck[] = {0x90, 64, 90};  // pressed, and the keyboard is unplugged
        player.send_event(stuck, 3);
        player.wait_until_sent();
    }
    auto answer = listener.received(1, 4s);
    REQUIRE_MESSAGE(!answer.empty(), kanaded.output());
    CHECK(answer.front().is_note_on());
    std::this_thread::sleep_for(1500ms);
    auto exit_code = kanaded.terminate();
    REQUIRE_MESSAGE(exit_code, kanaded.output());
    CHECK(*exit_code == 0);
    check_nothing_hangs(listener.received(0, 500ms));
}

TEST_CASE("a corrupt model by OSC or by SIGHUP is refused with the reason, and the old one keeps playing") {
    if (!have_servers()) return;
    KanadedOnJack kanaded;
    auto models = kanaded.folder / "models";
    std::filesystem::create_directories(models);
    std::filesystem::copy_file(default_model, models / "default.kmodel");
    kanaded.model = models / "default.kmodel";
    {  // the same model cut short, and one whose header lies about its shape
        std::ifstream in(default_model, std::ios::binary);
        std::string bytes{std::istreambuf_iterator<char>(in), {}};
        std::ofstream(models / "truncated.kmodel", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
        auto lying = bytes;
        const auto hidden = lying.find("\nhidden ");
        lying.replace(hidden, lying.find('\n', hidden + 1) - hidden, "\nhidden 999");
        std::ofstream(models / "lying.kmodel", std::ios::binary) << lying;
    }
    REQUIRE_MESSAGE(kanaded.start("free"), kanaded.output());

    auto fail = kanaded.osc.request({"/kanade/model/load", {std::string("truncated.kmodel")}}, "/kanade/fail");
    REQUIRE(fail);
    CHECK(std::get<std::string>(fail->arguments.at(1)).find("truncated") != std::string::npos);
    fail = kanaded.osc.request({"/kanade/model/load", {std::string("lying.kmodel")}}, "/kanade/fail");
    REQUIRE(fail);
    CHECK(std::get<std::string>(fail->arguments.at(1)).find("lying.kmodel") != std::string::npos);

    // SIGHUP with the configuration pointing at the broken file.
    write_config(kanaded.folder, kanaded.port, "free", "", 120, "", models / "truncated.kmodel");
    auto steps_before = status_int(*kanaded.status(), "steps");
    kanaded.daemon->signal(SIGHUP);
    std::this_thread::sleep_for(1500ms);
    auto status = kanaded.status();
    REQUIRE_MESSAGE(status, kanaded.output());
    CHECK(status_text(*status, "model_file") == "default.kmodel");
    CHECK(status_int(*status, "steps") > steps_before + 5);
    CHECK(kanaded.output().find("the old one keeps playing") != std::string::npos);

    auto exit_code = kanaded.terminate();
    REQUIRE_MESSAGE(exit_code, kanaded.output());
    CHECK(*exit_code == 0);
}

TEST_CASE("an OSC flood of 100,000 packets from four sockets, valid and malformed: kanaded keeps playing") {
    if (!have_servers()) return;
    KanadedOnJack kanaded;
    REQUIRE_MESSAGE(kanaded.start("free"), kanaded.output());
    std::this_thread::sleep_for(1s);
    auto before = kanaded.status();
    REQUIRE(before);
    const long rss_before = resident_kib(kanaded.daemon->pid());
    std::vector<std::thread> senders;
    for (int s = 0; s < 4; ++s)
        senders.emplace_back([&, s] {
            OscTestClient client(kanaded.port);
            const auto tempo = io::encode_osc({"/kanade/temperature", {0.9f + 0.01f * static_cast<float>(s)}});
            const auto wrong = io::encode_osc({"/kanade/tempo", {std::string("fast")}});
            const std::vector<std::uint8_t> garbage = {'n', 'o', 't', ' ', 'o', 's', 'c', 0};
            for (int i = 0; i < 25000; ++i) client.send_raw(i % 3 == 0 ? tempo : i % 3 == 1 ? wrong : garbage);
        });
    for (auto& sender : senders) sender.join();
    // A fast machine sends the flood within one step: give the clock four steps to show
    // it still runs, whatever the flood cost.
    std::this_thread::sleep_for(500ms);
    std::optional<io::OscMessage> after;
    for (int attempt = 0; attempt < 20 && !after; ++attempt)
        after = kanaded.osc.request({"/kanade/status", {}}, "/kanade/status", 500ms);
    REQUIRE_MESSAGE(after, kanaded.output());
    const long rss_after = resident_kib(kanaded.daemon->pid());
    MESSAGE("steps " << status_int(*before, "steps") << " -> " << status_int(*after, "steps") << ", late steps "
                     << status_int(*before, "late") << " -> " << status_int(*after, "late") << ", RSS " << rss_before
                     << " -> " << rss_after << " KiB");
    CHECK(status_int(*after, "steps") > status_int(*before, "steps"));
    CHECK(rss_after - rss_before < 16 * 1024);
    auto exit_code = kanaded.terminate();
    REQUIRE_MESSAGE(exit_code, kanaded.output());
    CHECK(*exit_code == 0);
}
