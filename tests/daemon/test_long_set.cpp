// A long set in compressed time: kanaded on a real jackd (dummy backend) playing 12
// sessions at 400 BPM with recording on, which makes as many events a minute as a single
// voice at 120 BPM makes in 40. Shows what a 3-hour set needs: resident memory flat after
// warm-up, the recorder's flushes flat in size and time, the recording complete and valid.
// 2 minutes by default (the test command); KANADE_LONG_SET_SECONDS=300 for the run the
// README records (the events of about three hours of one voice).
#include "daemon/kanaded_fixture.hpp"

#include "kanade/midi/note.hpp"
#include "kanade/midi/smf.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

using namespace kanade;
using namespace kanade::test;
using namespace std::chrono_literals;

namespace {

struct Sample {
    long rss_kib;
    std::int32_t flush_us, flush_bytes, held, events, late;
};

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values.empty() ? 0 : values[values.size() / 2];
}

}  // namespace

TEST_CASE("a long set with recording: memory and the recorder's flushes stay flat, the recording is complete") {
    if (!have_servers()) return;
    const int seconds = seconds_from_environment("KANADE_LONG_SET_SECONDS", 60);
    const int warm_up_seconds = 20;
    KanadedOnJack kanaded;
    REQUIRE_MESSAGE(kanaded.start("free", "sessions = 12\n", 400), kanaded.output());
    auto& osc = kanaded.osc;
    const auto folder = kanaded.folder / "set";
    // The io thread answers in order: a status asked right after a command tells what
    // was played when the command had taken effect.
    auto before = kanaded.status();
    REQUIRE(before);
    osc.send({"/kanade/record/start", {folder.string()}});
    auto started = kanaded.status();
    REQUIRE(started);
    CHECK(status_int(*started, "record_errors") == 0);

    std::vector<Sample> samples;
    auto sample = [&] {
        auto status = kanaded.status();
        REQUIRE(status);
        samples.push_back({resident_kib(kanaded.daemon->pid()), status_int(*status, "record_flush_us"),
                           status_int(*status, "record_flush_bytes"), status_int(*status, "record_held"),
                           status_int(*status, "record_events"), status_int(*status, "late")});
    };
    std::this_thread::sleep_for(std::chrono::seconds(warm_up_seconds));
    for (int second = warm_up_seconds; second < seconds && kanaded.daemon->running(); second += 2) {
        sample();
        std::this_thread::sleep_for(2s);
    }
    REQUIRE_MESSAGE(kanaded.daemon->running(), kanaded.output());
    auto end_status = kanaded.status();
    REQUIRE(end_status);
    osc.send({"/kanade/record/stop", {}});
    std::optional<io::OscMessage> after;
    for (int attempt = 0; attempt < 20 && !after; ++attempt) after = kanaded.status();  // STEM.mid takes a while
    REQUIRE(after);
    REQUIRE(samples.size() >= 10);

    // The first and the last quarter of the samples after warm-up.
    const auto quarter = samples.size() / 4;
    std::vector<double> early_us, late_us, early_bytes, late_bytes;
    for (std::size_t i = 0; i < quarter; ++i) {
        early_us.push_back(samples[i].flush_us), early_bytes.push_back(samples[i].flush_bytes);
        late_us.push_back(samples[samples.size() - 1 - i].flush_us);
        late_bytes.push_back(samples[samples.size() - 1 - i].flush_bytes);
    }
    std::int32_t most_held = 0;
    for (const auto& s : samples) most_held = std::max(most_held, s.held);
    const auto events = samples.back().events;
    const long rss_warm = samples.front().rss_kib, rss_end = samples.back().rss_kib;
    MESSAGE("long set " << seconds << " s, 12 sessions at 400 BPM: " << events << " events recorded ("
                        << events / (2.0 * 7.3 * 3600) << " h of one voice at 120 BPM, 7.3 notes/s), steps "
                        << status_int(*end_status, "steps") << ", late " << status_int(*end_status, "late") << "; RSS "
                        << rss_warm << " KiB after warm-up, " << rss_end << " KiB at the end; flush "
                        << median(early_us) << " us / " << median(early_bytes) << " B early, " << median(late_us)
                        << " us / " << median(late_bytes) << " B late; at most " << most_held << " events held, "
                        << status_int(*end_status, "record_dropped") << " dropped");

    CHECK(rss_end - rss_warm < 1536);  // the old recorder kept every event: ~32 B each
    // Flat, not growing with the set: what a flush writes and how long it takes at the end
    // is what it was at the start, within what any machine's load can make of it.
    CHECK(median(late_bytes) <= 2 * median(early_bytes) + 65536);
    CHECK(median(late_us) <= 2 * median(early_us) + 20000);
    CHECK(most_held <= 20000 + 1000);  // one segment's events at most
    CHECK(status_int(*end_status, "record_errors") == 0);
    CHECK(status_int(*end_status, "record_dropped") == 0);

    // The recording: a valid MIDI file with every note the set played while recording.
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(folder)) files.push_back(entry.path());
    REQUIRE(files.size() == 2);  // STEM.mid and STEM.jsonl; the segments are gone
    auto midi_path = files[0].extension() == ".mid" ? files[0] : files[1];
    midi::NoteExtraction every_channel;
    every_channel.include_drums = true;  // session 10 plays on channel 10
    auto notes = midi::extract_notes(midi::read_smf(midi_path).file, every_channel);
    // At least what was played between the start and the last status before the stop, at
    // most what was played from before the start to after the stop.
    const auto at_least = status_int(*end_status, "notes") - status_int(*started, "notes");
    const auto at_most = status_int(*after, "notes") - status_int(*before, "notes");
    MESSAGE(notes.size() << " notes in " << midi_path.filename().string() << ", " << at_least << ".." << at_most
                         << " played while it recorded");
    CHECK(static_cast<std::int64_t>(notes.size()) >= at_least);
    CHECK(static_cast<std::int64_t>(notes.size()) <= at_most);

    auto exit_code = kanaded.terminate();
    REQUIRE_MESSAGE(exit_code, kanaded.output());
    CHECK(*exit_code == 0);
}
