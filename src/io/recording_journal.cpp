#include "kanade/io/recording_journal.hpp"

#include "kanade/util/atomic_file.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <queue>
#include <stdexcept>
#include <vector>

namespace kanade::io {
namespace {

constexpr std::uint32_t microseconds_per_quarter = 500'000;  // 120 BPM: 1920 ticks a second
constexpr std::int64_t ticks_per_second = 1920;
// Lines of one part the journal may hold out of time order and still be sorted: a flush
// writes its lines sorted, so only events pushed a flush late fall out of order, by
// milliseconds; thousands of events is far more than that, and still a bounded memory.
constexpr std::size_t reorder_window = 4096;
constexpr std::size_t write_chunk_bytes = 64 * 1024;

constexpr std::string_view event_prefix = "{\"t\":";

// "-12.345678" at `text`'s start: whole microseconds, and what follows.
std::optional<std::int64_t> parse_seconds(std::string_view& text) {
    std::size_t at = 0;
    const bool negative = at < text.size() && text[at] == '-';
    if (negative) ++at;
    std::int64_t whole = 0;
    const auto [end, error] = std::from_chars(text.data() + at, text.data() + text.size(), whole);
    if (error != std::errc{} || whole < 0 || whole > 1'000'000'000'000) return std::nullopt;
    at = static_cast<std::size_t>(end - text.data());
    std::int64_t micro = 0;
    if (at < text.size() && text[at] == '.') {
        ++at;
        int digits = 0;
        for (; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at, ++digits)
            if (digits < 6) micro = micro * 10 + (text[at] - '0');
        if (digits == 0) return std::nullopt;
        for (; digits < 6; ++digits) micro *= 10;
    }
    text.remove_prefix(at);
    const auto us = whole * 1'000'000 + micro;
    return negative ? -us : us;
}

bool consume(std::string_view& text, std::string_view expected) {
    if (text.substr(0, expected.size()) != expected) return false;
    text.remove_prefix(expected.size());
    return true;
}

bool whole_object(std::string_view line) {
    const auto first = line.find_first_not_of(" \t\r");
    const auto last = line.find_last_not_of(" \t\r");
    return first != std::string_view::npos && line[first] == '{' && line[last] == '}';
}

// Calls each(line) for every line after the header.
template <typename Each>
void for_each_journal_line(const std::filesystem::path& path, Each&& each) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path.string() + ": " + std::strerror(errno));
    std::string line;
    for (bool header = true; std::getline(in, line); header = false)
        if (!header) each(std::string_view(line));
    if (in.bad()) throw std::runtime_error("cannot read " + path.string() + ": " + std::strerror(errno));
}

void put(std::ostream& out, const std::vector<std::uint8_t>& bytes) {
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

void put_track(std::ostream& out, const midi::Track& track, std::uint64_t end_tick) {
    midi::TrackEncoder encoder;
    for (const auto& event : track.events)
        if (event.kind != midi::EventKind::meta || event.meta_type != midi::meta::end_of_track) encoder.add(event);
    encoder.finish(end_tick);
    put(out, midi::track_chunk_header(encoder.body_size()));
    put(out, encoder.bytes());
}

// One part's track, streamed from the journal: its chunk length is written once known.
void put_part_track(std::ostream& out, const std::filesystem::path& journal_path, Part part, std::uint64_t end_tick) {
    const auto chunk_at = out.tellp();
    if (chunk_at < 0) throw std::runtime_error("cannot seek in the MIDI file being written");
    put(out, midi::track_chunk_header(0));
    midi::TrackEncoder encoder;
    auto drain = [&] {
        put(out, encoder.bytes());
        encoder.clear_bytes();
    };
    encoder.add(midi::Event::text(0, midi::meta::track_name, part == Part::human ? "human" : "machine"));
    PartTrack track([&](midi::Event&& event) { encoder.add(event); });

    struct Pending {
        std::int64_t us;
        std::uint64_t order;  // events of one moment keep the order they were played in
        midi::Message message;
    };
    auto later = [](const Pending& a, const Pending& b) { return a.us != b.us ? a.us > b.us : a.order > b.order; };
    std::priority_queue<Pending, std::vector<Pending>, decltype(later)> window(later);
    std::uint64_t order = 0, last_tick = 0;
    auto emit_earliest = [&] {
        // Later than the window allowed: at the track's latest tick, not before it.
        last_tick = std::max(last_tick, recording_tick(window.top().us));
        track.add(last_tick, window.top().message);
        window.pop();
        if (encoder.bytes().size() >= write_chunk_bytes) drain();
    };
    for_each_journal_line(journal_path, [&](std::string_view line) {
        const auto event = parse_journal_event(line);
        if (!event || event->part != part) return;
        window.push({event->since_start_us, order++, event->message});
        if (window.size() > reorder_window) emit_earliest();
    });
    while (!window.empty()) emit_earliest();
    track.close_sounding(end_tick);
    encoder.finish(end_tick);
    drain();

    const auto end_at = out.tellp();
    out.seekp(chunk_at);
    put(out, midi::track_chunk_header(encoder.body_size()));
    out.seekp(end_at);
}

}  // namespace

std::int64_t microseconds_of(std::int64_t ns) { return ns >= 0 ? (ns + 500) / 1000 : -((-ns + 500) / 1000); }

std::uint64_t recording_tick(std::int64_t since_start_us) {
    if (since_start_us <= 0) return 0;
    return static_cast<std::uint64_t>((since_start_us * ticks_per_second + 500'000) / 1'000'000);
}

std::string journal_seconds(std::int64_t since_start_us) {
    const auto magnitude = since_start_us < 0 ? -since_start_us : since_start_us;
    char text[32];
    std::snprintf(text, sizeof text, "%s%lld.%06lld", since_start_us < 0 ? "-" : "",
                  static_cast<long long>(magnitude / 1'000'000), static_cast<long long>(magnitude % 1'000'000));
    return text;
}

std::string journal_event_line(std::int64_t since_start_us, Part part, const midi::Message& message,
                               std::optional<std::int64_t> step) {
    char text[160];
    int length = std::snprintf(text, sizeof text, "{\"t\":%s,\"part\":\"%s\",\"msg\":[",
                               journal_seconds(since_start_us).c_str(), part == Part::human ? "human" : "machine");
    const int size = std::clamp<int>(message.size, 1, 3);
    for (int i = 0; i < size; ++i)
        length += std::snprintf(text + length, sizeof text - static_cast<std::size_t>(length), i ? ",%d" : "%d",
                                message.bytes[i]);
    if (step)
        std::snprintf(text + length, sizeof text - static_cast<std::size_t>(length), "],\"step\":%lld}",
                      static_cast<long long>(*step));
    else
        std::snprintf(text + length, sizeof text - static_cast<std::size_t>(length), "]}");
    return text;
}

std::optional<JournalEvent> parse_journal_event(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!consume(line, event_prefix)) return std::nullopt;
    JournalEvent event;
    const auto us = parse_seconds(line);
    if (!us) return std::nullopt;
    event.since_start_us = *us;
    if (consume(line, ",\"part\":\"human\""))
        event.part = Part::human;
    else if (consume(line, ",\"part\":\"machine\""))
        event.part = Part::machine;
    else
        return std::nullopt;
    if (!consume(line, ",\"msg\":[")) return std::nullopt;
    for (int i = 0;; ++i) {
        if (i == 3 || (i > 0 && !consume(line, ","))) break;
        unsigned value = 0;
        const auto [end, error] = std::from_chars(line.data(), line.data() + line.size(), value);
        if (error != std::errc{} || value > 255) return std::nullopt;
        line.remove_prefix(static_cast<std::size_t>(end - line.data()));
        event.message.bytes[i] = static_cast<std::uint8_t>(value);
        event.message.size = static_cast<std::uint8_t>(i + 1);
    }
    if (consume(line, "],\"step\":")) {
        std::int64_t step = 0;
        const auto [end, error] = std::from_chars(line.data(), line.data() + line.size(), step);
        if (error != std::errc{}) return std::nullopt;
        line.remove_prefix(static_cast<std::size_t>(end - line.data()));
        event.step = step;
        return line == "}" ? std::optional(event) : std::nullopt;
    }
    if (line != "]}") return std::nullopt;
    return event;
}

std::optional<std::int64_t> parse_journal_time(std::string_view line) {
    const auto open = line.find_first_not_of(" \t");
    if (open == std::string_view::npos) return std::nullopt;
    line.remove_prefix(open);
    if (!consume(line, event_prefix)) return std::nullopt;
    return parse_seconds(line);
}

void PartTrack::add(std::uint64_t tick, const midi::Message& message) {
    if (!is_complete_channel_message(message)) return;
    midi::Event out;
    out.tick = tick;
    out.kind = midi::EventKind::channel;
    out.status = message.bytes[0];
    for (std::size_t i = 0; i < channel_data_bytes(message.bytes[0]); ++i)
        out.data.push_back(message.bytes[1 + i] & 0x7F);
    sink_(std::move(out));
    sounding_.apply(message, [&](int channel, int pitch) { sink_(midi::Event::note_off(tick, channel, pitch)); });
}

void PartTrack::close_sounding(std::uint64_t tick) {
    sounding_.close_all([&](int channel, int pitch, int) { sink_(midi::Event::note_off(tick, channel, pitch)); });
}

midi::Track recording_tempo_track(const std::string& name, std::uint64_t end_tick) {
    midi::Track track;
    track.events.push_back(midi::Event::text(0, midi::meta::track_name, name));
    track.events.push_back(midi::Event::time_signature(0, 4, 4));
    track.events.push_back(midi::Event::tempo(0, microseconds_per_quarter));
    track.events.push_back(midi::Event::end_of_track(end_tick));
    return track;
}

JournalSummary midi_from_journal(const std::filesystem::path& journal_path, const std::filesystem::path& midi_path,
                                 std::optional<std::int64_t> end_us) {
    // First pass: the end, which every track's end-of-track (and the tempo track, first
    // in the file) needs before any track is written.
    JournalSummary summary;
    std::uint64_t last_tick = 0;
    for_each_journal_line(journal_path, [&](std::string_view line) {
        if (const auto event = parse_journal_event(line)) {
            ++summary.events;
            last_tick = std::max(last_tick, recording_tick(event->since_start_us));
        } else if (!whole_object(line)) {
            ++summary.skipped_lines;
        } else if (const auto t = parse_journal_time(line); t && !end_us) {
            last_tick = std::max(last_tick, recording_tick(*t));
        }
    });
    summary.end_tick = end_us ? std::max(last_tick, recording_tick(*end_us)) : last_tick;

    midi::Division division;
    division.ticks_per_quarter = recording_ticks_per_quarter;
    util::write_file_atomically(midi_path, [&](std::ostream& out) {
        put(out, midi::serialize_smf_header(1, division, 3));
        put_track(out, recording_tempo_track(journal_path.stem().string(), summary.end_tick), summary.end_tick);
        put_part_track(out, journal_path, Part::human, summary.end_tick);
        put_part_track(out, journal_path, Part::machine, summary.end_tick);
    });
    return summary;
}

}  // namespace kanade::io
