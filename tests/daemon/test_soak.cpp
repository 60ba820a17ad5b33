// Soak: kanaded for minutes on a real jackd (dummy backend) with a scripted player
// trading phrases on kanade:in, a listener on kanade:out, and an OSC client moving every
// setting and switching modes. Asserts no crash, no hanging note, a clean exit and
// bounded memory after warm-up; reports late steps and timing. 2 minutes by default (the
// test command); KANADE_SOAK_SECONDS=1800 for the 30-minute run the README records.
#include "daemon/kanaded_fixture.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <random>
#include <thread>

using namespace kanade;
using namespace kanade::test;
using namespace std::chrono_literals;

TEST_CASE("soak: minutes of call-and-response and free play while OSC moves every setting") {
    if (!have_servers()) return;
    const int seconds = seconds_from_environment("KANADE_SOAK_SECONDS", 40);
    const int warm_up_seconds = 30;
    KanadedOnJack kanaded;
    REQUIRE_MESSAGE(kanaded.start("call-response"), kanaded.output());
    JackMidiClient player("player");
    REQUIRE(player.connect(player.out_name(), "kanade:in"));
    JackMidiClient listener("listener");
    REQUIRE(listener.connect("kanade:out", listener.in_name()));

    std::atomic<bool> done{false};
    std::atomic<int> phrases{0}, commands{0}, failures{0};
    std::thread playing([&] {
        std::mt19937 random(1);
        while (!done) {
            const int notes = 3 + static_cast<int>(random() % 6);
            for (int i = 0; i < notes && !done; ++i)
                play_note(player, 55 + static_cast<int>(random() % 24), 60 + static_cast<int>(random() % 60),
                          std::chrono::milliseconds(80 + random() % 300));
            ++phrases;
            std::this_thread::sleep_for(std::chrono::milliseconds(1500 + random() % 2500));
        }
    });
    std::thread steering([&] {
        OscTestClient osc(kanaded.port);
        std::mt19937 random(2);
        const std::vector<io::OscMessage> moves = {
            {"/kanade/tempo", {static_cast<float>(100)}},
            {"/kanade/tempo", {static_cast<float>(140)}},
            {"/kanade/temperature", {0.8f}},
            {"/kanade/temperature", {1.2f}},
            {"/kanade/top_k", {std::int32_t{12}}},
            {"/kanade/top_p", {0.9f}},
            {"/kanade/density", {1.5f}},
            {"/kanade/density", {0.7f}},
            {"/kanade/energy", {0.8f}},
            {"/kanade/energy", {-0.6f}},
            {"/kanade/repeat", {0.3f}},
            {"/kanade/repeat", {0.0f}},
            {"/kanade/scale", {std::string("D dorian")}},
            {"/kanade/scale", {std::string("chromatic")}},
            {"/kanade/range", {std::int32_t{48}, std::int32_t{84}}},
            {"/kanade/polyphony", {std::int32_t{3}}},
            {"/kanade/tempo", {std::string("wrong type")}},
            {"/kanade/nowhere", {}},
            {"/kanade/note", {std::int32_t{60}, std::int32_t{90}, std::int32_t{2}}},
        };
        int tick = 0;
        while (!done) {
            std::this_thread::sleep_for(500ms);
            ++tick;
            if (tick % 40 == 0)  // every 20 s, the other mode
                osc.send({"/kanade/mode", {std::string(tick % 80 == 0 ? "call-response" : "free")}});
            else
                osc.send(moves[random() % moves.size()]);
            ++commands;
            // Drain replies (/kanade/fail for the deliberate mistakes) so none pile up.
            while (auto reply = osc.receive(1ms)) failures += reply->address == "/kanade/fail";
        }
    });

    std::this_thread::sleep_for(std::chrono::seconds(warm_up_seconds));
    const long rss_warm = resident_kib(kanaded.daemon->pid());
    long rss_peak = rss_warm;
    for (int second = warm_up_seconds; second < seconds && kanaded.daemon->running(); ++second) {
        std::this_thread::sleep_for(1s);
        rss_peak = std::max(rss_peak, resident_kib(kanaded.daemon->pid()));
        (void)listener.received(0, 0ms);  // keep the listener's queue drained
    }
    const long rss_end = resident_kib(kanaded.daemon->pid());
    done = true;
    playing.join();
    steering.join();

    REQUIRE_MESSAGE(kanaded.daemon->running(), kanaded.output());
    auto status = kanaded.status();
    REQUIRE(status);
    MESSAGE("soak " << seconds << " s: " << phrases.load() << " phrases, " << commands.load() << " OSC commands ("
                    << failures.load() << " refused as meant), steps " << status_int(*status, "steps")
                    << ", late steps " << status_int(*status, "late") << ", notes " << status_int(*status, "notes")
                    << ", timing p99 " << std::get<float>(*status_value(*status, "timing_p99_ms")) << " ms; RSS "
                    << rss_warm << " KiB after warm-up, " << rss_end << " KiB at the end (peak " << rss_peak << ")");
    CHECK(status_int(*status, "notes") > 10);
    CHECK(failures > 0);               // the deliberate mistakes were answered
    CHECK(rss_end - rss_warm < 1024);  // under 1 MB of growth after warm-up

    auto exit_code = kanaded.terminate();
    REQUIRE_MESSAGE(exit_code, kanaded.output());
    CHECK(*exit_code == 0);
    check_nothing_hangs(listener.received(0, 500ms));
}
