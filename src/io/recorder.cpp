#include "kanade/io/recorder.hpp"

#include "kanade/clock/spsc_queue.hpp"
#include "kanade/midi/smf.hpp"

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
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

namespace kanade::io {
namespace {

// 120 BPM and 960 ticks a quarter: 1920 ticks a second, so ticks are exact in seconds.
constexpr std::uint16_t ticks_per_quarter = 960;
constexpr std::uint32_t microseconds_per_quarter = 500'000;
constexpr std::int64_t ticks_per_second = 1920;

std::int64_t monotonic_ns() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

std::string timestamp_stem() {
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    ::localtime_r(&now, &local);
    char text[40];
    std::strftime(text, sizeof text, "kanade-%Y%m%d-%H%M%S", &local);
    return text;
}

// Two recordings started within one second must not overwrite each other.
std::string unused_stem(const std::filesystem::path& dir, const std::string& base) {
    std::error_code error;
    auto taken = [&](const std::string& stem) {
        return std::filesystem::exists(dir / (stem + ".mid"), error) ||
               std::filesystem::exists(dir / (stem + ".jsonl"), error);
    };
    if (!taken(base)) return base;
    for (int n = 2;; ++n)
        if (auto stem = base + "-" + std::to_string(n); !taken(stem)) return stem;
}

// A JSONL record is one line: raw line breaks can only be whitespace between JSON
// tokens (inside strings they must be escaped), so they become spaces.
std::string one_line(std::string text) {
    std::replace_if(text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    return text;
}

std::string seconds_text(std::int64_t ns) {
    char text[32];
    std::snprintf(text, sizeof text, "%.6f", static_cast<double>(ns) / 1e9);
    return text;
}

std::uint64_t ticks_at(std::int64_t since_start_ns) {
    if (since_start_ns <= 0) return 0;
    return static_cast<std::uint64_t>((since_start_ns * ticks_per_second + 500'000'000) / 1'000'000'000);
}

std::size_t data_length(std::uint8_t status) {
    const auto command = status & 0xF0;
    return command == 0xC0 || command == 0xD0 ? 1 : 2;
}

bool is_channel_message(const midi::Message& message) {
    return message.bytes[0] >= 0x80 && message.bytes[0] <= 0xEF && message.size >= 1 + data_length(message.bytes[0]);
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

}  // namespace

struct Recorder::Impl {
    RecorderConfig config;
    std::string stem;
    std::filesystem::path midi_path, log_path;
    std::int64_t start_ns = 0;

    clock::SpscQueue<RecordedEvent, 16384> queue;
    std::atomic<bool> accepting{true};
    std::atomic<std::uint64_t> events{0}, dropped{0}, flushes{0}, write_errors{0};

    // The writer thread's own (the constructor's before it starts, stop()'s after it ends).
    int log_fd = -1;
    std::string unwritten;  // log bytes the disk has not taken yet
    std::vector<RecordedEvent> recorded;
    bool midi_stale = true;  // the file on disk lacks events we have

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

    std::string event_line(const RecordedEvent& event) const {
        char text[160];
        int length = std::snprintf(text, sizeof text, "{\"t\":%s,\"part\":\"%s\",\"msg\":[",
                                   seconds_text(event.time_ns - start_ns).c_str(),
                                   event.part == Part::human ? "human" : "machine");
        const int size = std::clamp<int>(event.message.size, 1, 3);
        for (int i = 0; i < size; ++i)
            length += std::snprintf(text + length, sizeof text - static_cast<std::size_t>(length), i ? ",%d" : "%d",
                                    event.message.bytes[i]);
        std::snprintf(text + length, sizeof text - static_cast<std::size_t>(length), "]}");
        return text;
    }

    // Everything so far as a format 1 file. Notes still sounding at `end_ns` are closed
    // there, and notes cut by all-notes-off / all-sound-off where it came, so the file
    // has no hanging note; `recorded` itself keeps them open.
    midi::File build_file(std::int64_t end_ns) const {
        midi::File file;
        file.format = 1;
        file.division.ticks_per_quarter = ticks_per_quarter;
        file.tracks.resize(3);
        auto& tempo = file.tracks[0].events;
        tempo.push_back(midi::Event::text(0, midi::meta::track_name, stem));
        tempo.push_back(midi::Event::time_signature(0, 4, 4));
        tempo.push_back(midi::Event::tempo(0, microseconds_per_quarter));
        std::uint64_t end_tick = ticks_at(end_ns - start_ns);
        for (const auto& event : recorded) end_tick = std::max(end_tick, ticks_at(event.time_ns - start_ns));

        const std::array<std::pair<Part, const char*>, 2> parts = {{{Part::human, "human"}, {Part::machine, "machine"}}};
        for (std::size_t p = 0; p < parts.size(); ++p) {
            auto& track = file.tracks[p + 1].events;
            track.push_back(midi::Event::text(0, midi::meta::track_name, parts[p].second));
            std::vector<const RecordedEvent*> mine;
            for (const auto& event : recorded)
                if (event.part == parts[p].first && is_channel_message(event.message)) mine.push_back(&event);
            // Stable: events of one moment keep the order they were played in.
            std::stable_sort(mine.begin(), mine.end(),
                             [](const RecordedEvent* a, const RecordedEvent* b) { return a->time_ns < b->time_ns; });
            std::array<std::array<int, 128>, 16> sounding{};
            auto close_channel = [&](std::uint64_t tick, int channel) {
                for (int pitch = 0; pitch < 128; ++pitch)
                    for (int& open = sounding[static_cast<std::size_t>(channel)][static_cast<std::size_t>(pitch)]; open > 0; --open)
                        track.push_back(midi::Event::note_off(tick, channel, pitch));
            };
            for (const auto* event : mine) {
                const auto& message = event->message;
                const auto tick = ticks_at(event->time_ns - start_ns);
                midi::Event out;
                out.tick = tick;
                out.kind = midi::EventKind::channel;
                out.status = message.bytes[0];
                for (std::size_t i = 0; i < data_length(message.bytes[0]); ++i) out.data.push_back(message.bytes[1 + i] & 0x7F);
                track.push_back(std::move(out));
                auto& open = sounding[message.channel()][message.bytes[1] & 0x7F];
                if (message.is_note_on()) {
                    ++open;
                } else if (message.is_note_off()) {
                    if (open > 0) --open;
                } else if (message.command() == 0xB0 && (message.bytes[1] == 120 || message.bytes[1] == 123)) {
                    close_channel(tick, message.channel());
                }
            }
            for (int channel = 0; channel < 16; ++channel) close_channel(end_tick, channel);
        }
        for (auto& track : file.tracks) track.events.push_back(midi::Event::end_of_track(end_tick));
        return file;
    }

    bool notes_sounding() const {
        std::array<int, 2 * 16 * 128> open{};
        for (const auto& event : recorded) {
            const auto& message = event.message;
            if (!is_channel_message(message)) continue;
            auto& count = open[(event.part == Part::human ? 0 : 16 * 128) + message.channel() * 128 + (message.bytes[1] & 0x7F)];
            if (message.is_note_on()) ++count;
            else if (message.is_note_off() && count > 0) --count;
        }
        return std::any_of(open.begin(), open.end(), [](int count) { return count > 0; });
    }

    // One flush: the log appended and synced, then the MIDI file replaced. `final`
    // rewrites the MIDI file even if nothing changed, so it ends at the stop.
    void flush(bool final) {
        std::vector<std::pair<std::int64_t, std::string>> lines;
        {
            std::lock_guard lock(mutex);
            lines.swap(log_lines);
        }
        const auto first_new = recorded.size();
        RecordedEvent event;
        while (queue.pop(event)) recorded.push_back(event);
        for (auto i = first_new; i < recorded.size(); ++i) lines.emplace_back(recorded[i].time_ns, event_line(recorded[i]));
        std::stable_sort(lines.begin(), lines.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        for (const auto& line : lines) unwritten += line.second + '\n';
        if (recorded.size() > first_new) midi_stale = true;

        std::string failure;
        bool wrote = false;
        if (!unwritten.empty()) {
            wrote = true;
            if (write_some(log_fd, unwritten, failure) && ::fdatasync(log_fd) != 0)
                failure = "cannot sync " + log_path.string() + ": " + std::strerror(errno);
            else if (!failure.empty())
                failure = "cannot write " + log_path.string() + ": " + failure;
        }
        if (midi_stale || final || notes_sounding()) {
            wrote = true;
            try {
                midi::write_smf(build_file(monotonic_ns()), midi_path);
                midi_stale = false;
            } catch (const std::exception& error) {
                failure = error.what();
            }
        }
        if (!wrote) return;
        if (failure.empty()) {
            flushes.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        note_failure(failure);
    }

    void note_failure(const std::string& what) {
        write_errors.fetch_add(1, std::memory_order_relaxed);
        std::lock_guard lock(mutex);
        last_error = what;
    }

    // Never throws: a failure of any kind waits for the next flush.
    void flush_catching(bool final) {
        try {
            flush(final);
        } catch (const std::exception& error) {
            note_failure(error.what());
        }
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
            flush_catching(false);
            lock.lock();
            next += period;
            if (const auto now = std::chrono::steady_clock::now(); next < now) next = now + period;
        }
        lock.unlock();
        flush_catching(true);
    }
};

Recorder::Recorder(const RecorderConfig& config, std::string header_json) : impl_(std::make_unique<Impl>()) {
    auto& impl = *impl_;
    if (!(config.flush_seconds > 0) || !std::isfinite(config.flush_seconds))
        throw std::invalid_argument("recorder: flush_seconds must be positive, not " + std::to_string(config.flush_seconds));
    impl.config = config;
    std::error_code error;
    std::filesystem::create_directories(config.dir, error);
    if (error) throw std::runtime_error("cannot record into " + config.dir.string() + ": " + error.message());
    impl.stem = config.stem.empty() ? unused_stem(config.dir, timestamp_stem()) : config.stem;
    impl.midi_path = config.dir / (impl.stem + ".mid");
    impl.log_path = config.dir / (impl.stem + ".jsonl");
    impl.start_ns = monotonic_ns();

    impl.log_fd = ::open(impl.log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (impl.log_fd < 0) throw std::runtime_error("cannot create " + impl.log_path.string() + ": " + std::strerror(errno));
    // Both files exist, valid, before the first note: a failure here is the caller's to see.
    impl.unwritten = one_line(std::move(header_json)) + '\n';
    impl.flush(true);
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
    const auto now = monotonic_ns();
    auto line = one_line(std::move(json_line));
    const auto open = line.find_first_not_of(" \t");
    if (open != std::string::npos && line[open] == '{' && line.find("\"t\"") == std::string::npos) {
        const auto next = line.find_first_not_of(" \t", open + 1);
        const bool empty = next != std::string::npos && line[next] == '}';
        line.insert(open + 1, "\"t\":" + seconds_text(now - impl.start_ns) + (empty ? "" : ","));
    }
    std::lock_guard lock(impl.mutex);
    if (!impl.stopped) impl.log_lines.emplace_back(now, std::move(line));
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
    if (impl.log_fd >= 0) {
        ::close(impl.log_fd);
        impl.log_fd = -1;
    }
}

std::filesystem::path Recorder::midi_path() const { return impl_->midi_path; }
std::filesystem::path Recorder::log_path() const { return impl_->log_path; }
std::int64_t Recorder::start_ns() const { return impl_->start_ns; }

Recorder::Counters Recorder::counters() const {
    const auto& impl = *impl_;
    Counters counters;
    counters.events = impl.events.load(std::memory_order_relaxed);
    counters.dropped = impl.dropped.load(std::memory_order_relaxed);
    counters.flushes = impl.flushes.load(std::memory_order_relaxed);
    counters.write_errors = impl.write_errors.load(std::memory_order_relaxed);
    return counters;
}

std::string Recorder::last_error() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->last_error;
}

}  // namespace kanade::io
