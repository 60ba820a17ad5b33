#include "kanade/io/link_session.hpp"

#include <stdexcept>

#if KANADE_HAVE_LINK
#include <ableton/Link.hpp>
#include <ableton/platforms/linux/Clock.hpp>
#endif

namespace kanade::io {

#if KANADE_HAVE_LINK

namespace {

// Link on CLOCK_MONOTONIC, the timeline of everything else in kanaded (Link's Linux
// default is CLOCK_MONOTONIC_RAW), so its times need no conversion.
using MonotonicLink = ableton::BasicLink<ableton::platforms::linux::ClockMonotonic>;

std::chrono::microseconds micros(std::int64_t time_ns) { return std::chrono::microseconds(time_ns / 1000); }

}  // namespace

struct LinkSession::Impl {
    explicit Impl(const LinkSessionConfig& config)
        : link(config.bpm), quantum(config.beats_per_bar), shared_transport(config.start_stop_sync) {
        link.enableStartStopSync(config.start_stop_sync);
        link.enable(true);
    }
    MonotonicLink link;
    const double quantum;
    const bool shared_transport;
};

bool link_available() { return true; }

LinkSession::LinkSession(const LinkSessionConfig& config) : impl_(std::make_unique<Impl>(config)) {}

LinkSession::~LinkSession() = default;

std::size_t LinkSession::peers() const { return impl_->link.numPeers(); }

clock::BeatTimeline::Moment LinkSession::at(std::int64_t time_ns) {
    const auto state = impl_->link.captureAudioSessionState();
    Moment moment;
    moment.beat = state.beatAtTime(micros(time_ns), impl_->quantum);
    moment.bpm = state.tempo();
    if (impl_->shared_transport) moment.playing = state.isPlaying();
    return moment;
}

std::int64_t LinkSession::time_of(double beat) {
    const auto state = impl_->link.captureAudioSessionState();
    // Link's microseconds, rounded to them: well inside the 1 ms a step may be off.
    return static_cast<std::int64_t>(state.timeAtBeat(beat, impl_->quantum).count()) * 1000;
}

void LinkSession::set_tempo(double bpm, std::int64_t time_ns) {
    auto state = impl_->link.captureAudioSessionState();
    state.setTempo(bpm, micros(time_ns));
    impl_->link.commitAudioSessionState(state);
}

void LinkSession::set_playing(bool playing, std::int64_t time_ns) {
    if (!impl_->shared_transport) return;
    auto state = impl_->link.captureAudioSessionState();
    state.setIsPlaying(playing, micros(time_ns));
    impl_->link.commitAudioSessionState(state);
}

void LinkSession::start_at(double beat, std::int64_t time_ns) {
    if (impl_->link.numPeers() > 0) return;
    auto state = impl_->link.captureAudioSessionState();
    state.requestBeatAtTime(beat, micros(time_ns), impl_->quantum);
    impl_->link.commitAudioSessionState(state);
}

#else  // built without ableton-link-dev

struct LinkSession::Impl {};

bool link_available() { return false; }

LinkSession::LinkSession(const LinkSessionConfig&) {
    throw std::runtime_error("this kanaded was built without Ableton Link (install ableton-link-dev and rebuild)");
}
LinkSession::~LinkSession() = default;
std::size_t LinkSession::peers() const { return 0; }
clock::BeatTimeline::Moment LinkSession::at(std::int64_t) { return {}; }
std::int64_t LinkSession::time_of(double) { return 0; }
void LinkSession::set_tempo(double, std::int64_t) {}
void LinkSession::set_playing(bool, std::int64_t) {}
void LinkSession::start_at(double, std::int64_t) {}

#endif

}  // namespace kanade::io
