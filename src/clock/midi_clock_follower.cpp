#include "kanade/clock/midi_clock_follower.hpp"

namespace kanade::clock {

MidiClockFollower::MidiClockFollower(const ClockFollowerConfig& config) : config_(config) {
    if (config.steps_per_beat > 0 && midi_clock_ticks_per_beat % config.steps_per_beat == 0)
        ticks_per_step_ = midi_clock_ticks_per_beat / config.steps_per_beat;
}

double MidiClockFollower::bpm() const {
    return tick_interval_ns_ > 0 ? 60e9 / (midi_clock_ticks_per_beat * tick_interval_ns_) : 0;
}

ClockFollowerUpdate MidiClockFollower::feed(const midi::Message& message) {
    ClockFollowerUpdate update;
    switch (message.status()) {
        case 0xFA:  // Start: from the top; the next tick is the song's first
            song_tick_ = 0;
            playing_ = true;
            first_tick_after_start_ = true;
            update.playing = true;
            break;
        case 0xFB:  // Continue: from where Stop (or Song Position) left it
            playing_ = true;
            first_tick_after_start_ = true;
            update.playing = true;
            break;
        case 0xFC:
            playing_ = false;
            update.playing = false;
            break;
        case 0xF2:  // Song Position: only meaningful while stopped, as the spec says
            if (message.size == 3 && !playing_)
                song_tick_ = static_cast<std::int64_t>(((message.bytes[2] & 0x7F) << 7) | (message.bytes[1] & 0x7F)) *
                             midi_ticks_per_song_position;
            break;
        case 0xF8: {
            if (last_tick_ns_ > 0) {
                const double interval = static_cast<double>(message.time_ns - last_tick_ns_);
                const double shortest = 60e9 / (midi_clock_ticks_per_beat * config_.max_bpm);
                const double longest = 60e9 / (midi_clock_ticks_per_beat * config_.min_bpm);
                if (interval >= shortest && interval <= longest) {
                    tick_interval_ns_ = tick_interval_ns_ > 0
                                            ? (1 - config_.smoothing) * tick_interval_ns_ + config_.smoothing * interval
                                            : interval;
                    update.bpm = bpm();
                }
            }
            last_tick_ns_ = message.time_ns;
            if (!playing_) break;
            // The first tick after Start/Continue is the position itself; each later one moves on.
            if (first_tick_after_start_)
                first_tick_after_start_ = false;
            else
                ++song_tick_;
            if (ticks_per_step_ > 0 && song_tick_ % ticks_per_step_ == 0) {
                update.step_boundary_ns = message.time_ns;
                update.song_step = song_tick_ / ticks_per_step_;
            }
            break;
        }
        default: break;
    }
    return update;
}

}  // namespace kanade::clock
