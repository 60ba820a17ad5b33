// Membership of an Ableton Link session on the local network, as the scheduler's
// BeatTimeline: the session's tempo, its beat grid (quantum = one bar of ours) and, with
// start/stop sync, its transport. Link runs its own network thread; every BeatTimeline
// call reads or commits Link's real-time-safe audio session state, so the scheduler
// thread never waits on the network.
#pragma once

#include "kanade/clock/beat_timeline.hpp"

#include <cstddef>
#include <memory>

namespace kanade::io {

struct LinkSessionConfig {
    double bpm = 120;              // the tempo we bring when we are the first
    double beats_per_bar = 4;      // Link's quantum
    bool start_stop_sync = false;  // share start and stop with the session
};

// Whether this build has Ableton Link (ableton-link-dev was found).
bool link_available();

class LinkSession final : public clock::BeatTimeline {
public:
    // Joins at once; throws std::runtime_error when this build has no Link.
    explicit LinkSession(const LinkSessionConfig& config);
    ~LinkSession() override;

    std::size_t peers() const;  // the other members (any thread)

    Moment at(std::int64_t time_ns) override;
    std::int64_t time_of(double beat) override;
    void set_tempo(double bpm, std::int64_t time_ns) override;
    void set_playing(bool playing, std::int64_t time_ns) override;
    void start_at(double beat, std::int64_t time_ns) override;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace kanade::io
