#include "kanade/midi/note.hpp"
#include "kanade/midi/smf.hpp"
#include "kanade/midi/tempo_map.hpp"

#include "test_paths.hpp"
#include "skip.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <random>
#include <set>

using namespace kanade::midi;
namespace fs = std::filesystem;

namespace {

std::vector<fs::path> midi_files_in(const fs::path& folder) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(folder)) {
        if (entry.is_regular_file() && entry.path().extension() == ".mid") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    return files;
}

std::vector<std::uint8_t> read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool both_corpora_present() {
    if (fs::is_directory(kanade::test::openmsx_dir) && fs::is_directory(kanade::test::simutrans_dir)) return true;
    kanade::test::skip("corpus", "the Debian MIDI corpus (openttd-openmsx, simutrans-data) is not installed");
    return false;
}

// Parses anything; the only exception allowed out is SmfError.
void parse_must_not_misbehave(const std::vector<std::uint8_t>& bytes, const std::string& name) {
    try {
        auto result = parse_smf(bytes, name);
        for (const auto& warning : result.warnings) CHECK(warning.rfind(name + ": byte ", 0) == 0);
        // Whatever parsed must be usable by the rest of kanade.
        auto notes = extract_notes(result.file, NoteExtraction{true});
        TempoMap map(result.file);
        for (const auto& note : notes) CHECK(note.end_seconds >= note.start_seconds);
        auto again = parse_smf(serialize_smf(result.file), name);
        CHECK(again.file.tracks.size() == result.file.tracks.size());
    } catch (const SmfError& error) {
        CHECK(std::string(error.what()).rfind(name + ": byte ", 0) == 0);
    } catch (const std::exception& error) {
        FAIL("unexpected exception: " << error.what());
    }
}

}  // namespace

TEST_CASE("every file of the Debian corpus loads, has notes, and survives a round trip") {
    if (!both_corpora_present()) return;
    auto files = midi_files_in(kanade::test::openmsx_dir);
    auto simutrans = midi_files_in(kanade::test::simutrans_dir);
    CHECK(files.size() == 31);
    CHECK(simutrans.size() == 53);
    files.insert(files.end(), simutrans.begin(), simutrans.end());
    REQUIRE(files.size() == 84);

    std::set<std::string> key_signature_warnings;
    for (const auto& path : files) {
        CAPTURE(path);
        ReadResult result;
        REQUIRE_NOTHROW(result = read_smf(path));
        if (!result.warnings.empty()) {
            MESSAGE(result.warnings.size() << " warnings, the first: " << result.warnings.front());
        }
        for (const auto& warning : result.warnings) {
            CHECK(warning.rfind(path.string() + ": byte ", 0) == 0);
            if (warning.find("key signature") != std::string::npos) {
                key_signature_warnings.insert(path.filename().string());
            }
        }
        CHECK_FALSE(result.file.tracks.empty());
        auto notes = extract_notes(result.file);
        CHECK(notes.size() > 0);
        CHECK(std::is_sorted(notes.begin(), notes.end(),
                             [](const Note& a, const Note& b) { return a.start_beat < b.start_beat; }));
        CHECK(TempoMap(result.file).initial_bpm() > 0);

        auto again = parse_smf(serialize_smf(result.file), "again.mid");
        CHECK(again.warnings.empty());
        CHECK(again.file == result.file);
    }
    // Two simutrans files carry key signatures with mode 255: warnings, not failures.
    CHECK(key_signature_warnings == std::set<std::string>{"05-Boring-afternoon.mid", "30-On-the-waterfront.mid"});
}

TEST_CASE("truncated and corrupted copies of a real file either parse or throw SmfError") {
    auto path = kanade::test::openmsx_dir / "5432gone_redfarn.mid";
    if (!fs::is_regular_file(path)) {
        kanade::test::skip("corpus", path.string() + " is not installed");
        return;
    }
    auto original = read_bytes(path);
    REQUIRE(original.size() > 100);
    std::mt19937 random(20240611);

    for (int i = 0; i < 50; ++i) {
        // The first lengths cover the header byte by byte; the rest fall anywhere.
        std::size_t length = i < 30 ? static_cast<std::size_t>(i)
                                    : std::uniform_int_distribution<std::size_t>(30, original.size() - 1)(random);
        CAPTURE(length);
        std::vector<std::uint8_t> cut(original.begin(), original.begin() + static_cast<std::ptrdiff_t>(length));
        parse_must_not_misbehave(cut, "cut.mid");
    }

    std::uniform_int_distribution<std::size_t> position(0, original.size() - 1);
    std::uniform_int_distribution<int> byte_value(0, 255);
    std::uniform_int_distribution<int> flips(1, 16);
    int failures = 0;
    for (int copy = 0; copy < 200; ++copy) {
        auto corrupted = original;
        for (int flip = flips(random); flip > 0; --flip) {
            // Half the copies keep the header intact, so that corruption reaches the tracks.
            auto at = position(random);
            if (copy % 2 == 0 && at < 22) continue;
            corrupted[at] = static_cast<std::uint8_t>(byte_value(random));
        }
        CAPTURE(copy);
        try {
            (void)parse_smf(corrupted, "flipped.mid");
        } catch (const SmfError&) {
            ++failures;
        }
        parse_must_not_misbehave(corrupted, "flipped.mid");
    }
    // Random bytes must sometimes break the file: otherwise this test tests nothing.
    CHECK(failures > 0);
    CHECK(failures < 200);
}
