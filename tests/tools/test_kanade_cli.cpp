// End to end: the real `kanade` binary, on a small corpus made for the test.
#include "kanade/io/wav_file.hpp"
#include "kanade/midi/note.hpp"
#include "kanade/midi/smf.hpp"
#include "kanade/model/packed_matrix.hpp"
#include "kanade/util/run_program.hpp"

#include "../model/tiny_corpus.hpp"
#include "../test_paths.hpp"
#include "../skip.hpp"
#include "kanade_cli.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <regex>

using namespace kanade;

namespace {

using test::kanade_cli;

// One trained tiny model shared by the cases below (training is the slow part).
const std::filesystem::path& tiny_model() {
    static test::TemporaryFolder folder;
    static std::filesystem::path model = [] {
        test::write_tiny_corpus(folder / "corpus", 12, 64);
        auto result = kanade_cli({"train", (folder / "corpus").string(), "-o", (folder / "tiny.kmodel").string(),
                                  "--hidden", "24", "--embedding", "8", "--window", "16", "--epochs", "1", "--device",
                                  "cpu", "--threads", "1", "--quiet"});
        INFO(result.output);
        REQUIRE(result.succeeded());
        return folder / "tiny.kmodel";
    }();
    return model;
}

}  // namespace

TEST_CASE("kanade model-info counts the student network's parameters") {
    auto result = kanade_cli({"model-info", "--arch", "seed", "--vocab", "303"});
    INFO(result.output);
    CHECK(result.succeeded());
    CHECK(result.output.find("parameters 3307311") != std::string::npos);
}

TEST_CASE("kanade generate writes a valid MIDI file, render a non-silent WAV of its length") {
    test::TemporaryFolder folder;
    auto corpus = tiny_model().parent_path() / "corpus";
    auto mid = folder / "out.mid";
    auto generated = kanade_cli({"generate", tiny_model().string(), "-o", mid.string(), "--corpus", corpus.string(),
                                 "-n", "120", "--temperature", "0.8", "--seed", "4"});
    INFO(generated.output);
    REQUIRE(generated.succeeded());
    auto read = midi::read_smf(mid);
    auto notes = midi::extract_notes(read.file);
    REQUIRE(notes.size() > 5);
    double last_end = 0;
    for (const auto& note : notes) last_end = std::max(last_end, note.end_seconds);

    auto wav = folder / "out.wav";
    auto rendered = kanade_cli({"render", mid.string(), wav.string(), "--tail", "1"});
    INFO(rendered.output);
    if (!std::filesystem::exists(test::soundfont)) {
        test::skip("soundfont", "no SoundFont at " + test::soundfont.string() + ": render not checked");
        return;
    }
    REQUIRE(rendered.succeeded());
    auto audio = io::read_wav(wav);
    CHECK(audio.sample_rate == 44100);
    double seconds = static_cast<double>(audio.frames()) / audio.sample_rate;
    CHECK(seconds == doctest::Approx(last_end + 1.0).epsilon(0.01));
    double energy = 0;
    for (float sample : audio.samples) energy += static_cast<double>(sample) * sample;
    CHECK(std::sqrt(energy / static_cast<double>(audio.samples.size())) > 0.001);
}

TEST_CASE("kanade eval prints the metrics as JSON") {
    auto corpus = tiny_model().parent_path() / "corpus";
    auto result = kanade_cli({"eval", "--model", tiny_model().string(), corpus.string(), "--device", "cpu"});
    INFO(result.output);
    REQUIRE(result.succeeded());
    for (const char* key : {"\"files\":12", "\"tokens\":", "\"nll\":", "\"accuracy\":", "\"perplexity\":",
                            "\"nll_per_note\":", "\"nll_per_second\":"})
        CHECK(result.output.find(key) != std::string::npos);
}

TEST_CASE("kanade exit codes tell usage errors from failed work") {
    test::TemporaryFolder folder;
    CHECK(kanade_cli({"generate"}).exit_status == 2);
    CHECK(kanade_cli({"no-such-command"}).exit_status == 2);
    auto garbage = folder / "garbage.kmodel";
    util::RunResult broken;
    {
        std::ofstream(garbage) << "not a model";
        broken = kanade_cli({"model-info", garbage.string()});
    }
    CHECK(broken.exit_status == 1);
    CHECK(broken.output.find("garbage.kmodel") != std::string::npos);
    CHECK(broken.output.find("bad magic") != std::string::npos);
    // CUDA asked for where libtorch sees none: an optional part is missing.
    if (!torch::cuda::is_available()) {
        const auto no_gpu = kanade_cli({"bench", "--device", "cuda"});
        CHECK(no_gpu.exit_status == 3);
        CHECK(no_gpu.output.find("no CUDA GPU") != std::string::npos);
    }
}

TEST_CASE("kanade bench --quick --json reports every section with measured numbers") {
    auto model = tiny_model().string();
    auto result = kanade_cli({"bench", "--quick", "--json", "--seed-model", model, "--kanade-model", model, "--steps",
                              "5", "--realtime-seconds", "1", "--calls", "1", "--reference"});
    INFO(result.output);
    REQUIRE(result.succeeded());
    auto start = result.output.find("{\"command\"");
    REQUIRE(start != std::string::npos);
    const auto json = result.output.substr(start, result.output.find('\n', start) - start);
    for (const char* key :
         {"\"machine\":{\"cpu\":", "\"cores\":", "\"libtorch\":", "\"build_type\":", "\"inference\":[",
          "\"sustained_sessions\":", "\"scheduler_timing\":", "\"call_to_answer\":",
          "\"player_to_machine\":{\"notes\":", "\"training\":[", "\"transcription\":{\"backend\":\"basic-pitch\""})
        CHECK_MESSAGE(json.find(key) != std::string::npos, key);
    // Two models x two modes x batches 1 and 8 on the CPU, each timed packed and through
    // the modules, and packed again in each narrower precision this CPU has.
    std::regex row(
        R"re(\{"arch":"(seed|kanade)","mode":"(faithful|streaming)","device":"cpu","path":"(packed|modules)","precision":"(float32|float16|bfloat16)","batch":(1|8),"steps":5,"p50_ms":([^,]+),"p99_ms":([^,]+),"max_ms":([^}]+)\})re");
    int rows = 0;
    for (auto it = std::sregex_iterator(json.begin(), json.end(), row); it != std::sregex_iterator(); ++it, ++rows) {
        const double p50 = std::stod((*it)[6]), p99 = std::stod((*it)[7]), max = std::stod((*it)[8]);
        CHECK(p50 > 0);
        CHECK(p50 <= p99);
        CHECK(p99 <= max);
    }
    int narrower = 0;
    for (auto precision : {model::InferencePrecision::float16, model::InferencePrecision::bfloat16})
        narrower += model::supported_precision(precision) == precision;
    CHECK(rows == 16 + 8 * narrower);
    std::smatch tokens;
    REQUIRE(std::regex_search(json, tokens, std::regex(R"("tokens_per_second":([0-9.e+]+))")));
    CHECK(std::stod(tokens[1]) > 0);
    // Transcription speed when the Basic Pitch model is installed, else the reason why not.
    std::smatch speed;
    if (std::regex_search(json, speed, std::regex(R"("times_real_time":([0-9.e+]+))")))
        CHECK(std::stod(speed[1]) > 0);
    else
        CHECK(json.find("\"unavailable\":") != std::string::npos);
    std::smatch timing;
    REQUIRE(std::regex_search(json, timing, std::regex(R"("scheduler_timing":\{"notes":([0-9]+))")));
    CHECK(std::stoi(timing[1]) >= 0);
}

TEST_CASE("kanade generate with no seed starts from nothing, as kanaded does, on the daemon's grid") {
    test::TemporaryFolder folder;
    auto mid = folder / "free.mid";
    auto generated = kanade_cli({"generate", tiny_model().string(), "-o", mid.string(), "-n", "64", "--seed", "3"});
    INFO(generated.output);
    REQUIRE(generated.succeeded());
    CHECK(generated.output.find("64 steps") != std::string::npos);
    CHECK(generated.output.find("streaming inference") != std::string::npos);  // the daemon's default
    auto notes = midi::extract_notes(midi::read_smf(mid).file);
    REQUIRE(!notes.empty());
    for (const auto& note : notes) {
        CHECK(note.end_beat <= 16.0 + 1e-9);  // 64 steps of 4 a beat
        CHECK(note.pitch >= 21);              // the daemon's default range, 21..108
        CHECK(note.pitch <= 108);
    }
    // The same settings and seed give the same file.
    auto again = folder / "again.mid";
    REQUIRE(
        kanade_cli({"generate", tiny_model().string(), "-o", again.string(), "-n", "64", "--seed", "3"}).succeeded());
    std::ifstream a(mid, std::ios::binary), b(again, std::ios::binary);
    CHECK(std::string(std::istreambuf_iterator<char>(a), {}) == std::string(std::istreambuf_iterator<char>(b), {}));
}

TEST_CASE("kanade recover rebuilds a killed daemon's MIDI file from its journal") {
    test::TemporaryFolder folder;
    auto journal = folder / "take.jsonl";
    std::ofstream(journal) << "{\"event\":\"start\",\"seed\":7}\n"
                           << "{\"t\":0.500000,\"part\":\"human\",\"msg\":[144,60,90]}\n"
                           << "{\"t\":1.000000,\"part\":\"human\",\"msg\":[128,60,0]}\n"
                           << "{\"t\":1.000000,\"part\":\"machine\",\"msg\":[144,67,80]}\n"
                           << "{\"t\":1.5,\"part\":\"mach";  // torn by the kill
    auto result = kanade_cli({"recover", journal.string()});
    INFO(result.output);
    REQUIRE(result.succeeded());
    CHECK(result.output.find("1 unreadable lines skipped") != std::string::npos);
    auto notes = midi::extract_notes(midi::read_smf(folder / "take.mid").file);
    REQUIRE(notes.size() == 2);
    CHECK(notes[0].pitch == 60);
    CHECK(notes[0].start_seconds == doctest::Approx(0.5));
    CHECK(notes[0].end_seconds == doctest::Approx(1.0));
    CHECK(notes[1].pitch == 67);  // still sounding at the end: closed there
    CHECK(notes[1].start_seconds == doctest::Approx(1.0));

    auto missing = kanade_cli({"recover", (folder / "none.jsonl").string()});
    CHECK(missing.exit_status == 2);
}

TEST_CASE("the n-gram baseline never scores a file it was counted on") {
    const auto corpus = tiny_model().parent_path() / "corpus";
    auto number = [](const std::string& json, const std::string& key) {
        std::smatch match;
        REQUIRE_MESSAGE(std::regex_search(json, match, std::regex("\"" + key + "\":([0-9.e+-]+)")), key);
        return std::stod(match[1]);
    };
    // Counted on the training split of its inputs: only the others are scored.
    auto own = kanade_cli({"eval", "--baseline", "ngram", "--order", "3", corpus.string()});
    INFO(own.output);
    REQUIRE(own.succeeded());
    const double train_files = number(own.output, "train_files");
    CHECK(train_files > 0);
    CHECK(number(own.output, "excluded_files") == train_files);
    CHECK(number(own.output, "files") == 12 - train_files);
    CHECK(own.output.find("left out: the baseline was counted on them") != std::string::npos);
    CHECK(own.output.find("\"counted_on\":\"the training split of the inputs\"") != std::string::npos);
    // Asked for the training files alone: refused, naming why.
    auto train_only = kanade_cli({"eval", "--baseline", "ngram", "--order", "3", "--split", "train", corpus.string()});
    CHECK(train_only.exit_status == 1);
    CHECK(train_only.output.find("counted on") != std::string::npos);

    // --train CORPUS scores FILES elsewhere, all of them.
    test::TemporaryFolder folder;
    test::write_tiny_corpus(folder / "other", 5, 48);
    for (const auto& entry : std::filesystem::directory_iterator(folder / "other"))
        std::filesystem::rename(entry.path(), folder / "other" / ("other-" + entry.path().filename().string()));
    auto separate = kanade_cli(
        {"eval", "--baseline", "ngram", "--order", "3", "--train", corpus.string(), "--", (folder / "other").string()});
    INFO(separate.output);
    REQUIRE(separate.succeeded());
    CHECK(number(separate.output, "files") == 5);
    CHECK(number(separate.output, "excluded_files") == 0);
    CHECK(number(separate.output, "train_files") == train_files);
    CHECK(separate.output.find("\"counted_on\":\"--train\"") != std::string::npos);
}
