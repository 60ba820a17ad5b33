#include "kanade/io/recorder.hpp"

#include "kanade/clock/monotonic.hpp"
#include "kanade/clock/spsc_queue.hpp"
#include "kanade/io/recording_journal.hpp"
#include "kanade/midi/smf.hpp"
#include "kanade/util/atomic_file.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

namespace kanade::io {
namespace {

std::string timestamp_stem() {
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    ::localtime_r(&now, &local);
    char text[40];
    std::strftime(text, sizeof text, "kanade-%Y%m%d-%H%M%S", &local);
    return text;
}

std::filesystem::path segment_file(const std::filesystem::path& dir, const std::string& stem, std::uint64_t number) {
    char suffix[32];
    std::snprintf(suffix, sizeof suffix, ".part%03llu.mid", static_cast<unsigned long long>(number));
    return dir / (stem + suffix);
}

// Two recordings started within one second must not overwrite each other.
std::string unused_stem(const std::filesystem::path& dir, const std::string& base) {
    std::error_code error;
    auto taken = [&](const std::string& stem) {
        return std::filesystem::exists(dir / (stem + ".mid"), error) ||
               std::filesystem::exists(dir / (stem + ".jsonl"), error) ||
               std::filesystem::exists(segment_file(dir, stem, 1), error);
    };
    if (!taken(base)) return base;
    for (int n = 2;; ++n)
        if (auto stem = base + "-" + std::to_string(n); !taken(stem)) return stem;
}

// A JSONL record is one line: raw line breaks can only be whitespace between JSON
// tokens (inside strings they must be escaped), so they become spaces.
std::string one_line(std::string text) {
    std::replace_if(
        text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    return text;
}

// Writes all of `bytes` unless the system refuses; what was written is removed from
// `bytes`, so a retry continues where this stopped and no line is written twice.
bool write_some(int fd, std::string& bytes, std::string& error) {
    std::size_t done = 0;
    while (done < bytes.size()) {
        const auto written = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (written < 0) {
            if (errno == EINTR) continue;
            error = std::strerror(errno);
            break;
        }
        done += static_cast<std::size_t>(written);
    }
    bytes.erase(0, done);
    return bytes.empty();
}

constexpr std::array<Part, 2> parts = {Part::human, Part::machine};

}  // namespace

struct Recorder::Impl {
    RecorderConfig config;
    std::string stem;
    std::filesystem::path midi_path, log_path;
    std::int64_t start_ns = 0;
    std::int64_t segment_ns = 0;  // config.segment_seconds

    clock::SpscQueue<RecordedEvent, 16384> queue;
    std::atomic<bool> accepting{true};
    std::atomic<std::uint64_t> events{0}, dropped{0}, flushes{0}, write_errors{0};
    std::atomic<std::uint64_t> held_events{0}, last_flush_bytes{0}, segments{0}, last_flush_us{0};

    // The files: what follows is guarded by files_mutex, taken by whoever flushes (the
    // writer thread, flush(), the constructor and stop()). Never taken by the scheduler.
    mutable std::mutex files_mutex;
    bool closed = false;  // stop() closed the files
    int log_fd = -1;
    std::string unwritten;  // journal bytes the disk has not taken yet
    std::int64_t last_flush_ns = 0;

    // The segment being written. Its events are kept as pushed (and sorted when written);
    // a segment that ended lives on disk only, so this is all the recording held here.
    struct Segment {
        std::uint64_t number = 0;
        std::filesystem::path path;
        std::vector<RecordedEvent> events;  // notes struck again at its start, then those pushed
        std::int64_t start_ns = 0;
        std::size_t pushed = 0;  // events pushed into it (not counting the notes struck again)
        bool on_disk = false;    // its file holds every event
        bool write_failed = false;
    } segment;
    // Sounding notes in the order events came, so a segment's successor knows which
    // to strike again without looking back at it.
    std::array<SoundingNotes, 2> sounding;
    std::vector<RecordedEvent> incoming;                              // one flush's events
    std::vector<std::pair<std::int64_t, std::string>> journal_lines;  // one flush's lines
    std::vector<const RecordedEvent*> part_events;                    // one track's, sorted
    midi::TrackEncoder encoder;
    std::vector<std::uint8_t> segment_bytes;  // the segment's file, as last encoded

    mutable std::mutex mutex;  // what follows; never taken by the scheduler
    std::condition_variable wake;
    bool stopping = false;
    std::vector<std::pair<std::int64_t, std::string>> log_lines;  // (time, line) for the next flush
    std::string last_error;
    bool stopped = false;
    std::thread thread;

    ~Impl() {
        if (log_fd >= 0) ::close(log_fd);
    }

    std::int64_t since_start_us(std::int64_t ns) const { return microseconds_of(ns - start_ns); }
    std::uint64_t tick_of(std::int64_t ns) const { return recording_tick(since_start_us(ns)); }

    void begin_segment(std::int64_t at_ns) {
        segment.number += 1;
        segment.path = segment_file(config.dir, stem, segment.number);
        segment.events.clear();  // keeps its capacity: one segment's worth
        segment.start_ns = at_ns;
        segment.pushed = 0;
        segment.on_disk = false;
        segments.store(segment.number, std::memory_order_relaxed);
        for (std::size_t p = 0; p < parts.size(); ++p)
            sounding[p].for_each([&](int channel, int pitch, int velocity) {
                segment.events.push_back(
                    {at_ns, parts[p], midi::Message::note_on(channel, pitch, velocity, at_ns), std::nullopt});
            });
    }

    // The current segment as a format 1 file like STEM.mid, its notes still sounding at
    // `end_ns` closed there (`segment.events` itself keeps them open), encoded into
    // `segment_bytes`. Every buffer is kept from one flush to the next: a flush rewrites the
    // segment twice a second, and building it afresh each time (a midi::File of it, a sort
    // buffer, the bytes) moved the heap by a megabyte or two from one flush to another.
    void encode_segment(std::int64_t end_ns) {
        std::uint64_t end_tick = tick_of(end_ns);
        for (const auto& event : segment.events) end_tick = std::max(end_tick, tick_of(event.time_ns));
        midi::Division division;
        division.ticks_per_quarter = recording_ticks_per_quarter;
        const auto file_header = midi::serialize_smf_header(1, division, 3);
        segment_bytes.assign(file_header.begin(), file_header.end());  // keeps its capacity
        auto put_track = [&] {
            const auto header = midi::track_chunk_header(encoder.body_size());
            segment_bytes.insert(segment_bytes.end(), header.begin(), header.end());
            segment_bytes.insert(segment_bytes.end(), encoder.bytes().begin(), encoder.bytes().end());
        };
        encoder.restart();
        for (const auto& event : recording_tempo_track(stem, end_tick).events)
            if (event.kind != midi::EventKind::meta || event.meta_type != midi::meta::end_of_track) encoder.add(event);
        encoder.finish(end_tick);
        put_track();
        for (const auto part : parts) {
            encoder.restart();
            encoder.add(midi::Event::text(0, midi::meta::track_name, part == Part::human ? "human" : "machine"));
            part_events.clear();
            for (const auto& event : segment.events)
                if (event.part == part) part_events.push_back(&event);
            // Events of one moment keep the order they were played in, their order in
            // `segment.events` (std::sort: std::stable_sort would allocate its buffer).
            std::sort(part_events.begin(), part_events.end(), [](const RecordedEvent* a, const RecordedEvent* b) {
                return a->time_ns != b->time_ns ? a->time_ns < b->time_ns : a < b;
            });
            PartTrack builder([&](midi::Event&& event) { encoder.add(event); });
            for (const auto* event : part_events) builder.add(tick_of(event->time_ns), event->message);
            builder.close_sounding(end_tick);
            encoder.finish(end_tick);
            put_track();
        }
    }

    bool write_segment(std::int64_t end_ns, std::uint64_t& bytes, std::string& failure) {
        try {
            encode_segment(end_ns);
            util::write_file_atomically(segment.path, std::span<const std::uint8_t>(segment_bytes));
            bytes += segment_bytes.size();
            segment.on_disk = true;
            segment.write_failed = false;
            return true;
        } catch (const std::exception& error) {
            failure = error.what();
            segment.write_failed = true;
            return false;
        }
    }

    bool segment_full_for(const RecordedEvent& event) const {
        return segment.pushed > 0 &&
               (segment.pushed >= config.segment_events || event.time_ns - segment.start_ns >= segment_ns);
    }

    // One flush: the journal appended and synced, then the current segment replaced
    // (and any that ended on the way written out for the last time). `final` rewrites
    // the segment even if nothing changed, so it ends at the stop. Caller holds files_mutex.
    void flush(bool final) {
        journal_lines.clear();
        {
            std::lock_guard lock(mutex);
            journal_lines.swap(log_lines);
        }
        incoming.clear();
        RecordedEvent event;
        while (queue.pop(event)) incoming.push_back(event);
        for (const auto& e : incoming)
            journal_lines.emplace_back(e.time_ns,
                                       journal_event_line(since_start_us(e.time_ns), e.part, e.message, e.step));
        std::stable_sort(journal_lines.begin(), journal_lines.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        for (const auto& line : journal_lines) unwritten += line.second + '\n';

        std::string failure;
        std::uint64_t bytes = 0;
        bool wrote = false;
        if (!unwritten.empty()) {
            wrote = true;
            const auto before = unwritten.size();
            const bool all = write_some(log_fd, unwritten, failure);
            bytes += before - unwritten.size();
            if (all && ::fdatasync(log_fd) != 0)
                failure = "cannot sync " + log_path.string() + ": " + std::strerror(errno);
            else if (!failure.empty())
                failure = "cannot write " + log_path.string() + ": " + failure;
        }

        std::stable_sort(incoming.begin(), incoming.end(),
                         [](const RecordedEvent& a, const RecordedEvent& b) { return a.time_ns < b.time_ns; });
        for (const auto& e : incoming) {
            // A segment whose file is behind (the disk refused it) goes on growing until
            // it is written, so nothing leaves memory before it is on disk.
            if (segment_full_for(e) && !segment.write_failed) {
                wrote = true;
                if (write_segment(e.time_ns, bytes, failure)) begin_segment(e.time_ns);
            }
            segment.events.push_back(e);
            segment.pushed += 1;
            segment.on_disk = false;
            sounding[e.part == Part::human ? 0 : 1].apply(e.message);
        }
        last_flush_ns = clock::monotonic_ns();
        if (!segment.on_disk || final || sounding[0].any() || sounding[1].any()) {
            wrote = true;
            write_segment(last_flush_ns, bytes, failure);
        }
        held_events.store(segment.events.size(), std::memory_order_relaxed);
        last_flush_bytes.store(bytes, std::memory_order_relaxed);
        if (!wrote) return;
        if (failure.empty()) {
            flushes.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        note_failure(failure);
    }

    // STEM.mid from the journal (which holds everything, where the segments hold
    // re-struck notes at their seams), then the segments go. On failure they stay.
    void assemble() {
        const auto kept = "; the recording stays in " + segment_file(config.dir, stem, 1).filename().string() + " to " +
                          segment.path.filename().string() + " and " + log_path.filename().string();
        if (!unwritten.empty()) {
            note_failure("cannot make " + midi_path.string() + ": the journal lacks what the disk refused" + kept);
            return;
        }
        try {
            midi_from_journal(log_path, midi_path, since_start_us(last_flush_ns));
        } catch (const std::exception& error) {
            note_failure("cannot make " + midi_path.string() + ": " + error.what() + kept);
            return;
        }
        for (std::uint64_t n = 1; n <= segment.number; ++n) {
            std::error_code ignored;
            std::filesystem::remove(segment_file(config.dir, stem, n), ignored);
        }
        segment.events = {};
        held_events.store(0, std::memory_order_relaxed);
    }

    void note_failure(const std::string& what) {
        write_errors.fetch_add(1, std::memory_order_relaxed);
        std::lock_guard lock(mutex);
        last_error = what;
    }

    // Never throws: a failure of any kind waits for the next flush.
    void flush_catching(bool final) {
        const auto started = std::chrono::steady_clock::now();
        try {
            flush(final);
        } catch (const std::exception& error) {
            note_failure(error.what());
        }
        const auto took =
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
        last_flush_us.store(static_cast<std::uint64_t>(took.count()), std::memory_order_relaxed);
    }

    void run() {
        const auto period = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>(config.flush_seconds));
        auto next = std::chrono::steady_clock::now() + period;
        std::unique_lock lock(mutex);
        while (!stopping) {
            wake.wait_until(lock, next, [&] { return stopping; });
            if (stopping) break;
            lock.unlock();
            {
                std::lock_guard files(files_mutex);
                flush_catching(false);
            }
            lock.lock();
            next += period;
            if (const auto now = std::chrono::steady_clock::now(); next < now) next = now + period;
        }
        lock.unlock();
        std::lock_guard files(files_mutex);
        flush_catching(true);
    }
};

Recorder::Recorder(const RecorderConfig& config, std::string header_json) : impl_(std::make_unique<Impl>()) {
    auto& impl = *impl_;
    if (!(config.flush_seconds > 0) || !std::isfinite(config.flush_seconds))
        throw std::invalid_argument("recorder: flush_seconds must be positive, not " +
                                    std::to_string(config.flush_seconds));
    if (!(config.segment_seconds > 0) || !std::isfinite(config.segment_seconds) || config.segment_events == 0)
        throw std::invalid_argument("recorder: segments must have a positive length and event count");
    impl.config = config;
    impl.segment_ns = std::llround(std::min(config.segment_seconds, 1e9) * 1e9);
    std::error_code error;
    std::filesystem::create_directories(config.dir, error);
    if (error) throw std::runtime_error("cannot record into " + config.dir.string() + ": " + error.message());
    impl.stem = config.stem.empty() ? unused_stem(config.dir, timestamp_stem()) : config.stem;
    impl.midi_path = config.dir / (impl.stem + ".mid");
    impl.log_path = config.dir / (impl.stem + ".jsonl");
    impl.start_ns = clock::monotonic_ns();

    impl.log_fd = ::open(impl.log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (impl.log_fd < 0)
        throw std::runtime_error("cannot create " + impl.log_path.string() + ": " + std::strerror(errno));
    // The journal and the first segment exist, valid, before the first note: a failure
    // here is the caller's to see.
    // Time 0 on CLOCK_MONOTONIC too, so a recording can be laid beside another clock (a Link timeline).
    header_json = one_line(std::move(header_json));
    if (header_json.size() >= 2 && header_json.front() == '{')
        header_json.insert(
            1, "\"monotonic_start_ns\":" + std::to_string(impl.start_ns) + (header_json[1] == '}' ? "" : ","));
    impl.unwritten = header_json + '\n';
    impl.begin_segment(impl.start_ns);
    {
        std::lock_guard files(impl.files_mutex);
        impl.flush(true);
    }
    if (impl.write_errors.load() != 0) throw std::runtime_error("cannot record: " + impl.last_error);
    impl.thread = std::thread([&impl] { impl.run(); });
}

Recorder::~Recorder() { stop(); }

bool Recorder::push(const RecordedEvent& event) {
    auto& impl = *impl_;
    if (impl.accepting.load(std::memory_order_relaxed) && impl.queue.push(event)) {
        impl.events.fetch_add(1, std::memory_order_relaxed);
        return true;
    }
    impl.dropped.fetch_add(1, std::memory_order_relaxed);
    return false;
}

void Recorder::log(std::string json_line) {
    auto& impl = *impl_;
    const auto now = clock::monotonic_ns();
    auto line = one_line(std::move(json_line));
    const auto open = line.find_first_not_of(" \t");
    if (open != std::string::npos && line[open] == '{' && line.find("\"t\"") == std::string::npos) {
        const auto next = line.find_first_not_of(" \t", open + 1);
        const bool empty = next != std::string::npos && line[next] == '}';
        line.insert(open + 1, "\"t\":" + journal_seconds(impl.since_start_us(now)) + (empty ? "" : ","));
    }
    std::lock_guard lock(impl.mutex);
    if (!impl.stopped) impl.log_lines.emplace_back(now, std::move(line));
}

void Recorder::flush() {
    auto& impl = *impl_;
    std::lock_guard files(impl.files_mutex);
    if (!impl.closed) impl.flush_catching(false);
}

void Recorder::stop() {
    auto& impl = *impl_;
    {
        std::lock_guard lock(impl.mutex);
        if (impl.stopped) return;
        impl.stopped = true;
        impl.stopping = true;
    }
    impl.accepting.store(false, std::memory_order_relaxed);
    impl.wake.notify_all();
    if (impl.thread.joinable()) impl.thread.join();
    std::lock_guard files(impl.files_mutex);
    impl.closed = true;
    if (impl.log_fd >= 0) {
        ::close(impl.log_fd);
        impl.log_fd = -1;
    }
    impl.assemble();
}

std::filesystem::path Recorder::midi_path() const { return impl_->midi_path; }
std::filesystem::path Recorder::segment_path() const {
    std::lock_guard files(impl_->files_mutex);
    return impl_->segment.path;
}
std::filesystem::path Recorder::log_path() const { return impl_->log_path; }
std::int64_t Recorder::start_ns() const { return impl_->start_ns; }

Recorder::Counters Recorder::counters() const {
    const auto& impl = *impl_;
    Counters counters;
    counters.events = impl.events.load(std::memory_order_relaxed);
    counters.dropped = impl.dropped.load(std::memory_order_relaxed);
    counters.flushes = impl.flushes.load(std::memory_order_relaxed);
    counters.write_errors = impl.write_errors.load(std::memory_order_relaxed);
    counters.held_events = impl.held_events.load(std::memory_order_relaxed);
    counters.last_flush_bytes = impl.last_flush_bytes.load(std::memory_order_relaxed);
    counters.segments = impl.segments.load(std::memory_order_relaxed);
    counters.last_flush_us = impl.last_flush_us.load(std::memory_order_relaxed);
    return counters;
}

std::string Recorder::last_error() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->last_error;
}

}  // namespace kanade::io
