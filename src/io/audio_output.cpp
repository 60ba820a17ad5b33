#include "kanade/io/audio_output.hpp"

#include "audio_backend.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <stdexcept>
#include <string>

namespace kanade::io {
namespace {

// An event stamped further ahead than this is a clock mix-up, not a plan: it is played
// at once rather than holding up every event queued behind it.
constexpr std::int64_t max_lead_ns = 1'000'000'000;
constexpr const char* soundfont_option = "audio.soundfont";  // the daemon's key, named when one is missing

void validate(const AudioOutputConfig& config) {
    auto fail = [](const std::string& what) { throw std::invalid_argument("audio output: " + what); };
    const auto& b = config.backend;
    if (b != "auto" && b != "portaudio" && b != "jack" && b != "none" && !is_wav_backend(b))
        fail("unknown backend '" + b + "' (expected auto, portaudio, jack, none or a FILE.wav)");
    check_synth_ranges("audio output", config.sample_rate, config.gain);
    if (config.block_frames < 16 || config.block_frames > 8192)
        fail("block must be 16..8192 frames, not " + std::to_string(config.block_frames));
    if (config.program < 0 || config.program > 127)
        fail("program must be 0..127, not " + std::to_string(config.program));
}

}  // namespace

bool is_wav_backend(const std::string& backend) {
    if (backend.size() <= 4) return false;
    std::string suffix = backend.substr(backend.size() - 4);
    std::transform(suffix.begin(), suffix.end(), suffix.begin(), [](unsigned char c) { return std::tolower(c); });
    return suffix == ".wav";
}

namespace detail {

void AudioShared::prepare_synth() {
    if (synth && synth->sample_rate() == sample_rate) return;
    SynthSettings settings;
    settings.soundfont = config.soundfont;
    settings.soundfont_option = soundfont_option;
    settings.sample_rate = sample_rate;
    settings.gain = config.gain;
    synth = std::make_unique<Synth>(settings);
    synth->set_program(config.program);
}

// FluidSynth renders in 64-frame steps, so that is the resolution of an event's frame.
void AudioShared::render(float* out, int block, std::int64_t start_ns, std::int64_t end_ns) {
    if (const auto request = panic_request.exchange(0, std::memory_order_acquire))
        pending_panic = std::max(pending_panic, request);
    const double ns_per_frame = 1e9 / sample_rate;
    int done = 0;
    auto due = [&](std::int64_t time) { return time < end_ns || time - end_ns > max_lead_ns; };
    auto advance_to = [&](std::int64_t time) {
        if (time <= start_ns || time >= end_ns) return;
        const int frame = std::min(block, static_cast<int>(static_cast<double>(time - start_ns) / ns_per_frame));
        if (frame <= done) return;
        synth->render(out + static_cast<std::ptrdiff_t>(done) * synth_channels, frame - done);
        done = frame;
    };
    auto panic_if_due = [&](std::int64_t before) {
        if (pending_panic == 0 || pending_panic > before || !due(pending_panic)) return;
        advance_to(pending_panic);
        synth->release_all();
        pending_panic = 0;
    };
    while (const midi::Message* next = queue.peek()) {
        if (!due(next->time_ns)) break;
        panic_if_due(next->time_ns);
        advance_to(next->time_ns);
        synth->send(*next);
        midi::Message played;
        queue.pop(played);
    }
    panic_if_due(end_ns);
    synth->render(out + static_cast<std::ptrdiff_t>(done) * synth_channels, block - done);
    frames.fetch_add(static_cast<std::uint64_t>(block), std::memory_order_relaxed);
}

void AudioShared::finish(std::int64_t stop_ns) {
    while (const midi::Message* next = queue.peek()) {
        if (next->time_ns >= stop_ns && next->time_ns - stop_ns <= max_lead_ns) break;
        synth->send(*next);
        midi::Message played;
        queue.pop(played);
    }
    synth->release_all();
    panic_request.store(0, std::memory_order_relaxed);
    pending_panic = 0;
}

void AudioShared::render_tail(float* out, int block) {
    synth->render(out, block);
    frames.fetch_add(static_cast<std::uint64_t>(block), std::memory_order_relaxed);
}

}  // namespace detail

struct AudioOutput::Impl {
    explicit Impl(const AudioOutputConfig& config) : shared(config) {}

    detail::AudioShared shared;
    std::unique_ptr<detail::AudioBackend> backend;  // none: push() discards
    std::string name = "none";
    std::string description;

    std::mutex stop_mutex;
    bool stopped = false;

    // "portaudio" and "jack" throw when they cannot play; "auto" falls back to a WAV file.
    void open_device(const std::string& requested) {
        auto opening = detail::open_portaudio_backend(shared, requested == "jack");
        if (opening.backend) {
            use(std::move(opening.backend));
            return;
        }
        if (requested != "auto") throw std::runtime_error("audio backend '" + requested + "': " + opening.why_not);
        const std::string reason =
            opening.device_found ? "audio device unavailable (" + opening.why_not + ")" : "no audio device";
        const auto& path = shared.config.wav_fallback;
        auto wav = detail::open_wav_backend(shared, path);
        if (!wav.backend) {
            // "auto" must not stop the daemon: it plays nothing and says why.
            shared.release_synth();
            description = reason + ", and " + wav.why_not + ": audio off";
            return;
        }
        use(std::move(wav.backend));
        description = reason + ": rendering to " + path.string();
    }

    void use(std::unique_ptr<detail::AudioBackend> opened) {
        backend = std::move(opened);
        name = backend->name();
        description = backend->description();
    }
};

AudioOutput::AudioOutput(const AudioOutputConfig& config) {
    validate(config);
    impl_ = std::make_unique<Impl>(config);
    auto& impl = *impl_;
    const auto& backend = config.backend;
    if (backend == "none") {
        impl.description = "audio off (backend none)";
        return;
    }
    // Before any device or file is opened, so that a bad path leaves nothing behind.
    check_soundfont(config.soundfont, soundfont_option);
    if (is_wav_backend(backend)) {
        auto wav = detail::open_wav_backend(impl.shared, backend);
        if (!wav.backend) throw std::runtime_error("audio backend '" + backend + "': " + wav.why_not);
        impl.use(std::move(wav.backend));
        return;
    }
    impl.open_device(backend);
}

AudioOutput::~AudioOutput() { stop(); }

std::string AudioOutput::description() const { return impl_->description; }
std::string AudioOutput::backend() const { return impl_->name; }

bool AudioOutput::push(const midi::Message& message) {
    auto& impl = *impl_;
    if (impl.backend && !impl.shared.queue.push(message)) {
        impl.shared.dropped.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    impl.shared.events.fetch_add(1, std::memory_order_relaxed);
    return true;
}

void AudioOutput::all_notes_off() {
    auto& request = impl_->shared.panic_request;
    const auto now = detail::monotonic_ns();
    auto previous = request.load(std::memory_order_relaxed);
    while (previous < now &&
           !request.compare_exchange_weak(previous, now, std::memory_order_release, std::memory_order_relaxed)) {}
}

void AudioOutput::stop() {
    auto& impl = *impl_;
    std::lock_guard lock(impl.stop_mutex);
    if (impl.stopped) return;
    impl.stopped = true;
    if (impl.backend) impl.backend->stop();
}

AudioOutput::Counters AudioOutput::counters() const {
    const auto& shared = impl_->shared;
    Counters counters;
    counters.events = shared.events.load(std::memory_order_relaxed);
    counters.dropped = shared.dropped.load(std::memory_order_relaxed);
    counters.underruns = shared.underruns.load(std::memory_order_relaxed);
    counters.frames = shared.frames.load(std::memory_order_relaxed);
    counters.write_errors = shared.write_errors.load(std::memory_order_relaxed);
    return counters;
}

}  // namespace kanade::io
