// Private to src/io: what AudioOutput shares with its backends (PortAudio, a WAV file
// rendered in real time). The scheduler thread push()es into `queue`; a backend's audio
// thread alone calls render() and so alone touches the synth, from its start to stop().
#pragma once

#include "kanade/clock/monotonic.hpp"
#include "kanade/clock/spsc_queue.hpp"
#include "kanade/io/audio_output.hpp"
#include "kanade/io/synth.hpp"
#include "kanade/midi/message.hpp"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace kanade::io::detail {

using clock::monotonic_ns;

// Exact for any length: frames * 1e9 would overflow 64 bits after some 58 hours.
inline std::int64_t frames_to_ns(std::uint64_t frames, int rate) {
    const auto r = static_cast<std::uint64_t>(rate);
    return static_cast<std::int64_t>((frames / r) * 1'000'000'000 + (frames % r) * 1'000'000'000 / r);
}

struct AudioShared {
    explicit AudioShared(const AudioOutputConfig& config) : config(config), sample_rate(config.sample_rate) {}
    AudioShared(const AudioShared&) = delete;
    AudioShared& operator=(const AudioShared&) = delete;

    const AudioOutputConfig config;
    int sample_rate;  // the stream's: set by the backend before its audio thread starts

    clock::SpscQueue<midi::Message, 4096> queue;
    std::atomic<std::int64_t> panic_request{0};  // the time of the latest all_notes_off(); 0: none
    std::atomic<std::uint64_t> events{0}, dropped{0}, underruns{0}, frames{0}, write_errors{0};

    // Before the audio thread starts: the synth at sample_rate, loaded unless it is already.
    void prepare_synth();
    void release_synth() { synth.reset(); }

    // The audio thread: plays the events due in [start_ns, end_ns) at their frames within
    // the block, and fills it (interleaved stereo).
    void render(float* out, int block, std::int64_t start_ns, std::int64_t end_ns);
    // The audio thread, once the stream has ended at stop_ns: plays what was due before
    // then and releases every note, so that the tail rings out.
    void finish(std::int64_t stop_ns);
    // The audio thread, after finish(): the release tail.
    void render_tail(float* out, int block);

private:
    std::unique_ptr<Synth> synth;
    std::int64_t pending_panic = 0;  // the audio thread's
};

class AudioBackend {
public:
    virtual ~AudioBackend() = default;
    virtual std::string name() const = 0;  // "portaudio", "jack" or "wav"
    virtual std::string description() const = 0;
    // Ends the stream: the audio thread has stopped when it returns. Called once.
    virtual void stop() = 0;
};

struct BackendOpening {
    std::unique_ptr<AudioBackend> backend;  // null when it did not open
    std::string why_not;
    bool device_found = false;  // a device was there, but refused to play
};

// PortAudio's default output device, or (jack) its JACK host API's. The synth is
// prepared at the device's rate.
BackendOpening open_portaudio_backend(AudioShared& shared, bool jack);
// A WAV file at shared.sample_rate, created under its final name.
BackendOpening open_wav_backend(AudioShared& shared, const std::filesystem::path& path);

}  // namespace kanade::io::detail
