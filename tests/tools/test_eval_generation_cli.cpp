// `kanade eval-generation --recording`: a journal written here, with the grid steps a
// kanaded of this version writes, measured against a small corpus made for the test.
#include "kanade/io/recording_journal.hpp"

#include "../model/tiny_corpus.hpp"
#include "../test_paths.hpp"
#include "kanade_cli.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <string>

using namespace kanade;

namespace {

// The mean of `feature` for `set` ("real" or "generated") in rhythm_form: the first
// such key after the set's own (each set lists every feature).
double rhythm_mean(const std::string& json, const std::string& set, const std::string& feature) {
    const auto block = json.find("\"" + set + "\":{", json.find("\"rhythm_form\":"));
    REQUIRE_MESSAGE(block != std::string::npos, set);
    const std::string key = "\"" + feature + "\":{\"mean\":";
    const auto at = json.find(key, block);
    REQUIRE_MESSAGE(at != std::string::npos, (set + " " + feature));
    return std::stod(json.substr(at + key.size()));
}

// Four bars of the daemon's grid from step 1008 (bar 63): the machine plays on every beat
// and once two steps after the second, the player once a bar, a step after each bar's
// start, and once three steps in.
void write_journal(const std::filesystem::path& path, bool with_steps) {
    std::ofstream out(path);
    out << R"({"event":"start","model":"m","bpm":120,"steps_per_beat":4,"beats_per_bar":4,"seed":1})"
        << "\n";
    std::int64_t us = 0;
    auto line = [&](io::Part part, const midi::Message& message, std::int64_t step) {
        us += 1000;
        out << io::journal_event_line(us, part, message, with_steps ? std::optional(step) : std::nullopt) << "\n";
    };
    for (int bar = 0; bar < 4; ++bar) {
        const std::int64_t first = 1008 + 16 * bar;
        for (int position : {0, 1, 3, 4, 6, 8, 12}) {
            const bool human = position == 1 || position == 3;
            const auto part = human ? io::Part::human : io::Part::machine;
            const int pitch = human ? 72 : position == 6 ? 64 : 60;
            line(part, midi::Message::note_on(0, pitch, 90), first + position);
            line(part, midi::Message::note_off(0, pitch), first + position + 1);
        }
    }
}

}  // namespace

TEST_CASE("kanade eval-generation --recording measures a journal's part on the daemon's grid") {
    test::TemporaryFolder folder;
    test::write_tiny_corpus(folder / "corpus", 6, 64);  // 8ths: half of the onsets on a beat
    write_journal(folder / "take.jsonl", true);
    const std::vector<std::string> common = {
        "eval-generation", (folder / "corpus").string(),  "--split", "train", "--length", "32",
        "--plot",          (folder / "take.svg").string()};
    auto run = [&](std::vector<std::string> extra) {
        auto arguments = common;
        arguments.insert(arguments.end(), extra.begin(), extra.end());
        return test::kanade_cli(arguments);
    };

    auto machine = run({"--recording", (folder / "take.jsonl").string()});
    INFO(machine.output);
    REQUIRE(machine.succeeded());
    CHECK(machine.output.find("\"pieces\":2,") != std::string::npos);  // four bars, two pieces of two
    CHECK(machine.output.find("\"first_step\":1008") != std::string::npos);
    CHECK(rhythm_mean(machine.output, "generated", "on_beat_share") == doctest::Approx(0.8));  // 4 of 5
    CHECK(rhythm_mean(machine.output, "generated", "bar_repetition_lag1") == 1);  // a piece's 2nd bar is its 1st
    CHECK(rhythm_mean(machine.output, "generated", "bar_repetition_lag2") == 0);  // no bar has one 2 bars back
    CHECK(rhythm_mean(machine.output, "generated", "self_similarity") == doctest::Approx(1.0));
    CHECK(rhythm_mean(machine.output, "real", "on_beat_share") == doctest::Approx(0.5));
    CHECK(machine.output.find("\"real_time_signatures\":{\"4/4\":") != std::string::npos);
    CHECK(machine.output.find("\"bar_position_histogram_intersection\":") != std::string::npos);
    std::ifstream svg(folder / "take.svg");
    CHECK(std::string(std::istreambuf_iterator<char>(svg), {}).find("bar self-similarity by lag") != std::string::npos);

    auto all = run({"--recording", (folder / "take.jsonl").string(), "--part", "all"});
    REQUIRE(all.succeeded());
    CHECK(rhythm_mean(all.output, "generated", "on_beat_share") == doctest::Approx(4.0 / 7));
    auto human = run({"--recording", (folder / "take.jsonl").string(), "--part", "human"});
    REQUIRE(human.succeeded());
    CHECK(rhythm_mean(human.output, "generated", "on_beat_share") == 0);

    write_journal(folder / "old.jsonl", false);
    auto old = run({"--recording", (folder / "old.jsonl").string()});
    CHECK(old.exit_status == 1);
    CHECK(old.output.find("old.jsonl: no grid steps: recorded by an older kanaded") != std::string::npos);
    CHECK(test::kanade_cli({"eval-generation", (folder / "corpus").string()}).exit_status == 2);  // no model
}
