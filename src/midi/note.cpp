#include "kanade/midi/note.hpp"

#include "kanade/midi/tempo_map.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <deque>
#include <map>
#include <set>

namespace kanade::midi {
namespace {

struct OpenNote {
    std::uint64_t tick;
    std::uint8_t velocity;
    std::uint8_t program;  // in effect at the note-on
};

struct TickedNote {
    std::uint64_t start;
    std::uint64_t end;
    std::uint8_t pitch;
    std::uint8_t velocity;
    std::uint8_t channel;
    std::uint8_t program;
};

// Program changes of every track, per channel: a fallback for format 1 files that
// set programs in one track and play notes in another.
using ProgramTimeline = std::array<std::vector<std::pair<std::uint64_t, std::uint8_t>>, 16>;

ProgramTimeline program_timeline(const File& file) {
    ProgramTimeline timeline;
    for (const auto& track : file.tracks) {
        for (const auto& event : track.events) {
            if (event.kind == EventKind::channel && event.command() == 0xC0 && !event.data.empty()) {
                timeline[event.channel()].emplace_back(event.tick, event.data[0]);
            }
        }
    }
    for (auto& changes : timeline) {
        std::stable_sort(changes.begin(), changes.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
    }
    return timeline;
}

std::uint8_t program_at(const ProgramTimeline& timeline, int channel, std::uint64_t tick) {
    const auto& changes = timeline[channel];
    auto after = std::upper_bound(changes.begin(), changes.end(), tick,
                                  [](std::uint64_t t, const auto& change) { return t < change.first; });
    return after == changes.begin() ? 0 : std::prev(after)->second;
}

void extract_track(const Track& track, const ProgramTimeline& timeline, std::vector<TickedNote>& out) {
    std::map<std::pair<int, int>, std::deque<OpenNote>> open;  // (channel, pitch)
    std::array<int, 16> program{};
    program.fill(-1);  // -1: no program change in this track yet
    auto program_for = [&](int channel, std::uint64_t tick) {
        return program[channel] >= 0 ? static_cast<std::uint8_t>(program[channel])
                                     : program_at(timeline, channel, tick);
    };
    auto close = [&out](int channel, int pitch, const OpenNote& note, std::uint64_t end) {
        // A note on and off at one tick still sounded: give it one tick.
        out.push_back({note.tick, std::max(end, note.tick + 1), static_cast<std::uint8_t>(pitch), note.velocity,
                       static_cast<std::uint8_t>(channel), note.program});
    };

    std::uint64_t last_tick = 0;
    for (const auto& event : track.events) {
        last_tick = std::max(last_tick, event.tick);
        if (event.kind != EventKind::channel) continue;
        int channel = event.channel();
        auto command = event.command();
        if (command == 0xC0 && !event.data.empty()) {
            program[channel] = event.data[0];
            continue;
        }
        if ((command != 0x90 && command != 0x80) || event.data.size() < 2) continue;
        int pitch = event.data[0];
        bool is_on = command == 0x90 && event.data[1] > 0;
        auto& queue = open[{channel, pitch}];
        if (is_on) {
            queue.push_back({event.tick, event.data[1], program_for(channel, event.tick)});
        } else if (!queue.empty()) {  // an off without an on is ignored
            close(channel, pitch, queue.front(), event.tick);
            queue.pop_front();
        }
    }
    for (const auto& [key, queue] : open) {
        for (const auto& note : queue) close(key.first, key.second, note, last_tick);
    }
}

std::uint64_t beat_to_tick(double beat, std::uint16_t ticks_per_quarter) {
    // Capped so that every delta time fits the file's 28-bit variable-length quantity,
    // and the file is as long as the reader takes back by default.
    const double max_tick =
        std::min(double{0x0FFFFFFF - 1}, static_cast<double>(ReadLimits{}.max_beats) * ticks_per_quarter);
    if (!(beat > 0)) return 0;  // also catches NaN
    return static_cast<std::uint64_t>(std::min(std::round(beat * ticks_per_quarter), max_tick));
}

}  // namespace

std::vector<Note> extract_notes(const File& file, const NoteExtraction& options) {
    auto timeline = program_timeline(file);
    std::vector<TickedNote> ticked;
    for (const auto& track : file.tracks) extract_track(track, timeline, ticked);

    TempoMap tempo(file);
    std::vector<Note> notes;
    notes.reserve(ticked.size());
    for (const auto& t : ticked) {
        if (t.channel == drum_channel && !options.include_drums) continue;
        Note note;
        note.start_beat = tempo.beats_at(t.start);
        note.end_beat = tempo.beats_at(t.end);
        note.start_seconds = tempo.seconds_at(t.start);
        note.end_seconds = tempo.seconds_at(t.end);
        note.pitch = t.pitch;
        note.velocity = t.velocity;
        note.channel = t.channel;
        note.program = t.program;
        notes.push_back(note);
    }
    std::stable_sort(notes.begin(), notes.end(), [](const Note& a, const Note& b) {
        if (a.start_beat != b.start_beat) return a.start_beat < b.start_beat;
        return a.pitch < b.pitch;
    });
    return notes;
}

File notes_to_file(const std::vector<Note>& notes, const NotesToFile& options) {
    File file;
    file.format = 1;
    file.division.smpte = false;
    file.division.ticks_per_quarter = std::clamp<std::uint16_t>(options.ticks_per_quarter, 1, 0x7FFF);
    auto ticks_per_quarter = file.division.ticks_per_quarter;

    double bpm = options.bpm > 0 && std::isfinite(options.bpm) ? options.bpm : 120.0;
    auto tempo = static_cast<std::uint32_t>(std::clamp(std::round(60e6 / bpm), 1.0, double(0xFFFFFF)));
    Track conductor;
    conductor.events.push_back(Event::text(0, meta::track_name, options.track_name));
    conductor.events.push_back(Event::time_signature(0, 4, 4));
    conductor.events.push_back(Event::tempo(0, tempo));
    conductor.events.push_back(Event::end_of_track(0));

    Track music;
    music.events.push_back(Event::text(0, meta::track_name, options.track_name));
    std::set<int> channels;
    for (const auto& note : notes) channels.insert(std::clamp<int>(note.channel, 0, 15));
    for (int channel : channels) {
        // On channel 10 a program change would pick a drum kit, not an instrument.
        if (channel != drum_channel) music.events.push_back(Event::program_change(0, channel, options.program));
    }

    struct Timed {
        std::uint64_t tick;
        bool on;
        Event event;
    };
    std::vector<Timed> timed;
    timed.reserve(notes.size() * 2);
    for (const auto& note : notes) {
        auto start = beat_to_tick(note.start_beat, ticks_per_quarter);
        auto end = std::max(beat_to_tick(note.end_beat, ticks_per_quarter), start + 1);
        int channel = std::clamp<int>(note.channel, 0, 15);
        int velocity = std::clamp<int>(note.velocity, 1, 127);  // velocity 0 would mean note-off
        timed.push_back({start, true, Event::note_on(start, channel, note.pitch, velocity)});
        timed.push_back({end, false, Event::note_off(end, channel, note.pitch)});
    }
    for (const auto& pedal : options.sustain_pedal) {
        auto start = beat_to_tick(pedal.start_beat, ticks_per_quarter);
        auto end = std::max(beat_to_tick(pedal.end_beat, ticks_per_quarter), start + 1);
        timed.push_back({start, true, Event::control_change(start, 0, 64, 127)});
        timed.push_back({end, false, Event::control_change(end, 0, 64, 0)});
    }
    // Offs before ons at one tick, so a repeated pitch ends before it sounds again.
    std::stable_sort(timed.begin(), timed.end(), [](const Timed& a, const Timed& b) {
        if (a.tick != b.tick) return a.tick < b.tick;
        return !a.on && b.on;
    });
    std::uint64_t end_tick = 0;
    for (auto& t : timed) {
        end_tick = std::max(end_tick, t.tick);
        music.events.push_back(std::move(t.event));
    }
    music.events.push_back(Event::end_of_track(end_tick));

    file.tracks.push_back(std::move(conductor));
    file.tracks.push_back(std::move(music));
    return file;
}

}  // namespace kanade::midi
