#include "kanade/io/recorder.hpp"

#include "kanade/midi/smf.hpp"

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <unistd.h>

namespace kanade::io {
namespace {

constexpr int ticks_per_quarter = 960;  // at 120 BPM: 1920 ticks a second
constexpr double ticks_per_second = ticks_per_quarter * 2.0;

std::int64_t now_ns() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

std::string default_stem() {
    std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    char text[32];
    std::strftime(text, sizeof text, "kanade-%Y%m%d-%H%M%S", &local);
    return text;
}

}  // namespace

Recorder::Recorder(const RecorderConfig& config, std::string header_json) : config_(config), start_ns_(now_ns()) {
    std::filesystem::create_directories(config_.dir);
    auto stem = config_.stem.empty() ? default_stem() : config_.stem;
    midi_path_ = config_.dir / (stem + ".mid");
    log_path_ = config_.dir / (stem + ".jsonl");
    log_file_ = std::fopen(log_path_.c_str(), "a");
    if (!log_file_) throw std::runtime_error("cannot write " + log_path_.string() + ": " + std::strerror(errno));
    log_lines_.push_back(std::move(header_json));
    flush();
    thread_ = std::thread([this] { run(); });
}

Recorder::~Recorder() {
    stop();
    if (log_file_) std::fclose(log_file_);
}

bool Recorder::push(const RecordedEvent& event) {
    if (queue_.push(event)) {
        events_.fetch_add(1, std::memory_order_relaxed);
        return true;
    }
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
}

void Recorder::log(std::string json_line) {
    std::lock_guard lock(mutex_);
    log_lines_.push_back(std::move(json_line));
}

std::string Recorder::last_error() const {
    std::lock_guard lock(mutex_);
    return last_error_;
}

void Recorder::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    flush();
}

void Recorder::run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        wake_.wait_for(lock, std::chrono::duration<double>(config_.flush_seconds));
        if (stopping_) break;
        lock.unlock();
        flush();
        lock.lock();
    }
}

void Recorder::flush() {
    std::vector<std::string> lines;
    {
        std::lock_guard lock(mutex_);
        lines.swap(log_lines_);
    }
    RecordedEvent event;
    while (queue_.pop(event)) {
        events_so_far_.push_back(event);
        char line[128];
        std::snprintf(line, sizeof line, "{\"t\":%.6f,\"part\":\"%s\",\"msg\":[%d,%d,%d]}",
                      static_cast<double>(event.time_ns - start_ns_) / 1e9, event.part == Part::human ? "human" : "machine",
                      event.message.bytes[0], event.message.bytes[1], event.message.bytes[2]);
        lines.emplace_back(line);
    }
    std::string failure;
    for (const auto& line : lines)
        if (std::fprintf(log_file_, "%s\n", line.c_str()) < 0) failure = std::strerror(errno);
    if (std::fflush(log_file_) != 0 || ::fdatasync(::fileno(log_file_)) != 0) failure = std::strerror(errno);

    // The MIDI file: tempo track, then the player's part, then kanade's.
    midi::File file;
    file.format = 1;
    file.division.ticks_per_quarter = ticks_per_quarter;
    file.tracks.resize(3);
    file.tracks[0].events.push_back(midi::Event::tempo(0, 500000));
    file.tracks[0].events.push_back(midi::Event::text(0, midi::meta::track_name, "kanade recording"));
    file.tracks[1].events.push_back(midi::Event::text(0, midi::meta::track_name, "human"));
    file.tracks[2].events.push_back(midi::Event::text(0, midi::meta::track_name, "machine"));
    std::array<std::array<int, 128>, 32> sounding{};  // [part * 16 + channel][pitch]: open note-ons
    std::uint64_t last_tick = 0;
    for (const auto& recorded : events_so_far_) {
        auto tick = static_cast<std::uint64_t>(std::max<double>(0, (recorded.time_ns - start_ns_) / 1e9 * ticks_per_second));
        last_tick = std::max(last_tick, tick);
        const auto& m = recorded.message;
        auto& track = file.tracks[recorded.part == Part::human ? 1 : 2];
        midi::Event e;
        e.tick = tick;
        e.kind = midi::EventKind::channel;
        e.status = m.bytes[0];
        if (m.size < 2 || m.bytes[0] < 0x80 || m.bytes[0] >= 0xF0) continue;
        e.data.assign(m.bytes + 1, m.bytes + m.size);
        auto& open = sounding[static_cast<std::size_t>(recorded.part == Part::human ? 0 : 16) + m.channel()];
        if (m.is_note_on()) ++open[m.bytes[1]];
        else if (m.is_note_off() && open[m.bytes[1]] > 0) --open[m.bytes[1]];
        track.events.push_back(std::move(e));
    }
    // Close what still sounds, in the file only, so it is valid and has no hanging note.
    auto end_tick = std::max<std::uint64_t>(last_tick, static_cast<std::uint64_t>((now_ns() - start_ns_) / 1e9 * ticks_per_second));
    for (std::size_t slot = 0; slot < sounding.size(); ++slot)
        for (int pitch = 0; pitch < 128; ++pitch)
            for (int n = 0; n < sounding[slot][static_cast<std::size_t>(pitch)]; ++n)
                file.tracks[slot < 16 ? 1 : 2].events.push_back(midi::Event::note_off(end_tick, static_cast<int>(slot % 16), pitch));
    try {
        midi::write_smf(file, midi_path_);
    } catch (const std::exception& error) {
        failure = error.what();
    }
    flushes_.fetch_add(1);
    if (!failure.empty()) {
        write_errors_.fetch_add(1);
        std::lock_guard lock(mutex_);
        last_error_ = failure;
    }
}

}  // namespace kanade::io
