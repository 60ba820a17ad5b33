#include "kanade/io/audio_output.hpp"

#include "kanade/clock/spsc_queue.hpp"

#include <alsa/asoundlib.h>
#include <fluidsynth.h>
#include <jack/jack.h>
#include <pa_jack.h>
#include <portaudio.h>
#include <sndfile.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace kanade::io {
namespace {

constexpr int channels = 2;  // interleaved left, right
// An event stamped further ahead than this is a clock mix-up, not a plan: it is played
// at once rather than holding up every event queued behind it.
constexpr std::int64_t max_lead_ns = 1'000'000'000;
constexpr double tail_seconds = 1.0;  // rendered into a WAV after stop(): releases and reverb
constexpr int drum_channel = 9;
// PortAudio's JACK client; "kanade" itself is the MIDI ports' client.
constexpr const char* jack_client_name = "kanade-synth";

std::int64_t monotonic_ns() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

void sleep_until(std::int64_t deadline_ns) {
    timespec when{static_cast<time_t>(deadline_ns / 1'000'000'000), static_cast<long>(deadline_ns % 1'000'000'000)};
    while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &when, nullptr) == EINTR) {
    }
}

// Exact for any length: frames * 1e9 would overflow 64 bits after some 58 hours.
std::int64_t frames_to_ns(std::uint64_t frames, int rate) {
    const auto r = static_cast<std::uint64_t>(rate);
    return static_cast<std::int64_t>((frames / r) * 1'000'000'000 + (frames % r) * 1'000'000'000 / r);
}

void validate(const AudioOutputConfig& config) {
    auto fail = [](const std::string& what) { throw std::invalid_argument("audio output: " + what); };
    const auto& b = config.backend;
    if (b != "auto" && b != "portaudio" && b != "jack" && b != "none" && !is_wav_backend(b))
        fail("unknown backend '" + b + "' (expected auto, portaudio, jack, none or a FILE.wav)");
    if (config.sample_rate < min_sample_rate || config.sample_rate > max_sample_rate)
        fail("sample rate must be " + std::to_string(min_sample_rate) + ".." + std::to_string(max_sample_rate) +
             " Hz, not " + std::to_string(config.sample_rate));
    if (config.block_frames < 16 || config.block_frames > 8192)
        fail("block must be 16..8192 frames, not " + std::to_string(config.block_frames));
    if (!(config.gain >= 0 && config.gain <= 10)) fail("gain must be 0..10, not " + std::to_string(config.gain));
    if (config.program < 0 || config.program > 127) fail("program must be 0..127, not " + std::to_string(config.program));
}

void check_soundfont(const std::filesystem::path& path) {
    std::error_code error;
    if (!std::filesystem::is_regular_file(path, error))
        throw std::runtime_error("SoundFont not found: " + path.string() +
                                 " (install fluid-soundfont-gm, or name another in audio.soundfont)");
    // Read here rather than with fluid_is_soundfont(), which logs an error of its own.
    std::ifstream in(path, std::ios::binary);
    char header[12] = {};
    in.read(header, sizeof header);
    if (!in || std::string_view(header, 4) != "RIFF" || std::string_view(header + 8, 4) != "sfbk")
        throw std::runtime_error("cannot load SoundFont " + path.string() + ": not a SoundFont file");
}

// While PortAudio probes, ALSA and libjack print every card and server they do not find:
// a screenful on a headless machine for one fact that description() states. Their
// handlers are process-wide, so they are swapped only around the probe (at startup) and
// put back after; PortAudio's own JACK handler, installed once it connects, is kept.
void silent_alsa(const char*, int, const char*, int, const char*, ...) {}
void silent_jack(const char*) {}

class QuietAudioLibraries {
public:
    QuietAudioLibraries() : alsa_(snd_lib_error), jack_error_(jack_error_callback), jack_info_(jack_info_callback) {
        snd_lib_error_set_handler(silent_alsa);
        jack_set_error_function(silent_jack);
        jack_set_info_function(silent_jack);
    }
    ~QuietAudioLibraries() {
        snd_lib_error_set_handler(alsa_);
        if (jack_error_callback == silent_jack) jack_set_error_function(jack_error_);
        if (jack_info_callback == silent_jack) jack_set_info_function(jack_info_);
    }
    QuietAudioLibraries(const QuietAudioLibraries&) = delete;
    QuietAudioLibraries& operator=(const QuietAudioLibraries&) = delete;

private:
    snd_lib_error_handler_t alsa_;
    void (*jack_error_)(const char*);
    void (*jack_info_)(const char*);
};

// Pa_Initialize .. Pa_Terminate.
class PortAudioLibrary {
public:
    PortAudioLibrary() {
        PaJack_SetClientName(jack_client_name);
        error_ = Pa_Initialize();
    }
    ~PortAudioLibrary() {
        if (error_ == paNoError) Pa_Terminate();
    }
    PortAudioLibrary(const PortAudioLibrary&) = delete;
    PortAudioLibrary& operator=(const PortAudioLibrary&) = delete;
    PaError error() const { return error_; }

private:
    PaError error_;
};

class Synth {
public:
    Synth(const AudioOutputConfig& config, int sample_rate) {
        settings_ = new_fluid_settings();
        if (!settings_) throw std::runtime_error("audio output: FluidSynth could not create its settings");
        fluid_settings_setnum(settings_, "synth.sample-rate", sample_rate);
        fluid_settings_setnum(settings_, "synth.gain", config.gain);
        // Only the audio thread touches the synth: its locks would only cost time there.
        fluid_settings_setint(settings_, "synth.threadsafe-api", 0);
        // Locking a 140 MB SoundFont in RAM fails under ordinary limits.
        fluid_settings_setint(settings_, "synth.lock-memory", 0);
        synth_ = new_fluid_synth(settings_);
        if (!synth_) {
            delete_fluid_settings(settings_);
            throw std::runtime_error("audio output: FluidSynth could not start");
        }
        if (fluid_synth_sfload(synth_, config.soundfont.c_str(), 1) == FLUID_FAILED) {
            delete_fluid_synth(synth_);
            delete_fluid_settings(settings_);
            throw std::runtime_error("cannot load SoundFont " + config.soundfont.string());
        }
        for (int channel = 0; channel < 16; ++channel)
            if (channel != drum_channel) fluid_synth_program_change(synth_, channel, config.program);
    }
    ~Synth() {
        delete_fluid_synth(synth_);
        delete_fluid_settings(settings_);
    }
    Synth(const Synth&) = delete;
    Synth& operator=(const Synth&) = delete;

    // FluidSynth's refusals (a bank it lacks, say) are ignored: one odd event must not
    // silence a performance.
    void apply(const midi::Message& message) {
        const int channel = message.channel();
        const int d1 = message.bytes[1] & 0x7F, d2 = message.bytes[2] & 0x7F;
        const bool two = message.size >= 2, three = message.size >= 3;
        switch (message.command()) {
            case 0x80:
                if (two) fluid_synth_noteoff(synth_, channel, d1);
                break;
            case 0x90:
                if (three && d2 > 0)
                    fluid_synth_noteon(synth_, channel, d1, d2);
                else if (two)
                    fluid_synth_noteoff(synth_, channel, d1);
                break;
            case 0xA0:
                if (three) fluid_synth_key_pressure(synth_, channel, d1, d2);
                break;
            case 0xB0:
                if (three) fluid_synth_cc(synth_, channel, d1, d2);
                break;
            case 0xC0:
                if (two) fluid_synth_program_change(synth_, channel, d1);
                break;
            case 0xD0:
                if (two) fluid_synth_channel_pressure(synth_, channel, d1);
                break;
            case 0xE0:
                if (three) fluid_synth_pitch_bend(synth_, channel, d1 | (d2 << 7));
                break;
            default: break;  // system messages: nothing to play
        }
    }

    // Released, not cut: notes fade as a player's would. The pedal goes up first, or
    // sustained notes would ring on.
    void release_all() {
        for (int channel = 0; channel < 16; ++channel) fluid_synth_cc(synth_, channel, 64, 0);
        fluid_synth_all_notes_off(synth_, -1);
    }

    // Interleaved stereo.
    void write(float* out, int frames) {
        if (frames > 0) fluid_synth_write_float(synth_, frames, out, 0, channels, out, 1, channels);
    }

private:
    fluid_settings_t* settings_ = nullptr;
    fluid_synth_t* synth_ = nullptr;
};

}  // namespace

bool is_wav_backend(const std::string& backend) {
    if (backend.size() <= 4) return false;
    std::string suffix = backend.substr(backend.size() - 4);
    std::transform(suffix.begin(), suffix.end(), suffix.begin(), [](unsigned char c) { return std::tolower(c); });
    return suffix == ".wav";
}

struct AudioOutput::Impl {
    AudioOutputConfig config;
    std::string backend = "none";
    std::string description;
    int sample_rate = 0;

    clock::SpscQueue<midi::Message, 4096> queue;
    std::atomic<std::int64_t> panic_request{0};  // the time of the latest all_notes_off(); 0: none
    std::atomic<std::uint64_t> events{0}, dropped{0}, underruns{0}, frames{0}, write_errors{0};

    // The audio thread's own.
    std::unique_ptr<Synth> synth;
    std::int64_t pending_panic = 0;

    std::unique_ptr<PortAudioLibrary> portaudio;
    PaStream* stream = nullptr;

    SNDFILE* wav = nullptr;
    std::thread wav_thread;
    std::atomic<std::int64_t> stop_requested{0};  // when stop() was called; 0: running
    std::int64_t wav_origin = 0;

    std::mutex stop_mutex;
    bool stopped = false;

    // Only reached open on a constructor's way out by exception (stop() closes otherwise).
    ~Impl() {
        if (wav) sf_close(wav);
    }

    // Audio thread: plays the events due in [start_ns, end_ns) at their frames within
    // the block (FluidSynth renders in 64-frame steps, so that is its resolution), then
    // fills the rest of the block.
    void render(float* out, int block, std::int64_t start_ns, std::int64_t end_ns) {
        if (const auto request = panic_request.exchange(0, std::memory_order_acquire))
            pending_panic = std::max(pending_panic, request);
        const double ns_per_frame = 1e9 / sample_rate;
        int done = 0;
        auto due = [&](std::int64_t time) { return time < end_ns || time - end_ns > max_lead_ns; };
        auto advance_to = [&](std::int64_t time) {
            if (time <= start_ns || time >= end_ns) return;
            const int frame = std::min(block, static_cast<int>(static_cast<double>(time - start_ns) / ns_per_frame));
            if (frame <= done) return;
            synth->write(out + static_cast<std::ptrdiff_t>(done) * channels, frame - done);
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
            synth->apply(*next);
            midi::Message played;
            queue.pop(played);
        }
        panic_if_due(end_ns);
        synth->write(out + static_cast<std::ptrdiff_t>(done) * channels, block - done);
        frames.fetch_add(static_cast<std::uint64_t>(block), std::memory_order_relaxed);
    }

    static int portaudio_callback(const void*, void* output, unsigned long frame_count, const PaStreamCallbackTimeInfo*,
                                  PaStreamCallbackFlags flags, void* self) {
        auto& impl = *static_cast<Impl*>(self);
        if (flags & paOutputUnderflow) impl.underruns.fetch_add(1, std::memory_order_relaxed);
        // The block stands for the time since the previous callback: events keep their
        // spacing, one block later than pushed.
        const auto end = monotonic_ns();
        const auto start = end - frames_to_ns(frame_count, impl.sample_rate);
        impl.render(static_cast<float*>(output), static_cast<int>(frame_count), start, end);
        return paContinue;
    }

    // The default output device of PortAudio (host: paInDevelopment) or of one host API,
    // or paNoDevice with the reason.
    PaDeviceIndex find_device(PaHostApiTypeId host, std::string& why_not) {
        if (portaudio->error() != paNoError) {
            why_not = std::string("PortAudio did not start: ") + Pa_GetErrorText(portaudio->error());
            return paNoDevice;
        }
        if (host == paInDevelopment) {
            const auto device = Pa_GetDefaultOutputDevice();
            if (device == paNoDevice) why_not = "no audio output device (PortAudio found no sound card)";
            return device;
        }
        const auto index = Pa_HostApiTypeIdToHostApiIndex(host);
        const char* server = std::getenv("JACK_DEFAULT_SERVER");
        const std::string server_name = server && *server ? server : "default";
        // PortAudio registers its JACK host API only when it reached a server.
        if (index < 0) {
            why_not = "no JACK server is running (server '" + server_name + "')";
            return paNoDevice;
        }
        const auto device = Pa_GetHostApiInfo(index)->defaultOutputDevice;
        if (device == paNoDevice) why_not = "the JACK server '" + server_name + "' has no playback ports";
        return device;
    }

    // The rate to ask of `device`: a JACK server has exactly one.
    int rate_for(PaDeviceIndex device) const {
        const PaDeviceInfo* info = Pa_GetDeviceInfo(device);
        const double device_rate = info->defaultSampleRate;
        if (Pa_GetHostApiInfo(info->hostApi)->type == paJACK) return static_cast<int>(std::lround(device_rate));
        PaStreamParameters parameters{};
        parameters.device = device;
        parameters.channelCount = channels;
        parameters.sampleFormat = paFloat32;
        parameters.suggestedLatency = info->defaultLowOutputLatency;
        if (Pa_IsFormatSupported(nullptr, &parameters, config.sample_rate) == paFormatIsSupported ||
            device_rate < min_sample_rate || device_rate > max_sample_rate)
            return config.sample_rate;
        return static_cast<int>(std::lround(device_rate));
    }

    // Opens and starts a stream on `device`; the synth must exist. The reason on failure.
    std::optional<std::string> start_stream(PaDeviceIndex device) {
        const PaDeviceInfo* info = Pa_GetDeviceInfo(device);
        const bool jack = Pa_GetHostApiInfo(info->hostApi)->type == paJACK;
        PaStreamParameters parameters{};
        parameters.device = device;
        parameters.channelCount = channels;
        parameters.sampleFormat = paFloat32;
        parameters.suggestedLatency = info->defaultLowOutputLatency;
        // JACK sets the period; a fixed block size there would add PortAudio's own buffering.
        const unsigned long frames_per_buffer =
            jack ? paFramesPerBufferUnspecified : static_cast<unsigned long>(config.block_frames);
        PaError error = Pa_OpenStream(&stream, nullptr, &parameters, sample_rate, frames_per_buffer, paNoFlag,
                                      &Impl::portaudio_callback, this);
        if (error == paNoError) {
            error = Pa_StartStream(stream);
            if (error == paNoError) return std::nullopt;
            Pa_CloseStream(stream);
        }
        stream = nullptr;
        return std::string("cannot open '") + info->name + "': " + Pa_GetErrorText(error);
    }

    std::string describe_device(PaDeviceIndex device) const {
        const PaDeviceInfo* info = Pa_GetDeviceInfo(device);
        const PaHostApiInfo* host = Pa_GetHostApiInfo(info->hostApi);
        if (host->type == paJACK)
            return std::string("JACK via PortAudio: client ") + jack_client_name + " playing to '" + info->name +
                   "' at " + std::to_string(sample_rate) + " Hz";
        return std::string("PortAudio: ") + host->name + " device '" + info->name + "' at " +
               std::to_string(sample_rate) + " Hz";
    }

    // Opens the file under its final name; false (with the reason) if it cannot.
    bool open_wav(const std::filesystem::path& path, std::string& why_not) {
        std::error_code error;
        if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), error);
        SF_INFO info{};
        info.samplerate = sample_rate;
        info.channels = channels;
        info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
        wav = sf_open(path.c_str(), SFM_WRITE, &info);
        if (!wav) {
            why_not = "cannot create " + path.string() + ": " + sf_strerror(nullptr);
            return false;
        }
        return true;
    }

    // Converted here, rounding to nearest: libsndfile's own conversion turns the reverb's
    // anti-denormal offset (some 1e-8) into a constant -1, and silence should be 0.
    void write_wav(const std::vector<float>& block, std::vector<short>& pcm) {
        std::transform(block.begin(), block.end(), pcm.begin(), [](float sample) {
            return static_cast<short>(std::lrint(std::clamp(sample, -1.0f, 1.0f) * 32767.0f));
        });
        const auto count = static_cast<sf_count_t>(pcm.size() / channels);
        if (sf_writef_short(wav, pcm.data(), count) != count) write_errors.fetch_add(1, std::memory_order_relaxed);
    }

    // The WAV thread: block k stands for [origin + k blocks, origin + k+1 blocks) and is
    // rendered once that span has passed, so the file's timeline is the monotonic clock's
    // from the origin on. Late blocks are caught up at once; the file never loses time.
    void run_wav() {
        const int block = config.block_frames;
        const std::int64_t block_ns = frames_to_ns(static_cast<std::uint64_t>(block), sample_rate);
        std::vector<float> buffer(static_cast<std::size_t>(block) * channels);
        std::vector<short> pcm(buffer.size());
        std::uint64_t position = 0, header_at = 0;
        while (true) {
            const auto start = wav_origin + frames_to_ns(position, sample_rate);
            const auto end = wav_origin + frames_to_ns(position + static_cast<std::uint64_t>(block), sample_rate);
            // Up to the moment stop() was called, however late this thread is running.
            auto stop_at = stop_requested.load(std::memory_order_acquire);
            if (stop_at == 0) {
                sleep_until(end);
                stop_at = stop_requested.load(std::memory_order_acquire);
            }
            if (stop_at != 0 && end > stop_at) break;
            if (monotonic_ns() - end > block_ns) underruns.fetch_add(1, std::memory_order_relaxed);
            render(buffer.data(), block, start, end);
            write_wav(buffer, pcm);
            position += static_cast<std::uint64_t>(block);
            // About once a second the header learns the length, so a killed daemon
            // leaves a file that plays up to then.
            if (position - header_at >= static_cast<std::uint64_t>(sample_rate)) {
                sf_command(wav, SFC_UPDATE_HEADER_NOW, nullptr, 0);
                header_at = position;
            }
        }
        // The tail: what was due before the stop, then every note released and left to ring.
        const auto stop_ns = wav_origin + frames_to_ns(position, sample_rate);
        while (const midi::Message* next = queue.peek()) {
            if (next->time_ns >= stop_ns && next->time_ns - stop_ns <= max_lead_ns) break;
            synth->apply(*next);
            midi::Message played;
            queue.pop(played);
        }
        synth->release_all();
        panic_request.store(0, std::memory_order_relaxed);
        pending_panic = 0;
        const auto tail_blocks = static_cast<int>(std::ceil(tail_seconds * sample_rate / block));
        for (int i = 0; i < tail_blocks; ++i) {
            synth->write(buffer.data(), block);
            frames.fetch_add(static_cast<std::uint64_t>(block), std::memory_order_relaxed);
            write_wav(buffer, pcm);
        }
    }
};

AudioOutput::AudioOutput(const AudioOutputConfig& config) : impl_(std::make_unique<Impl>()) {
    validate(config);
    auto& impl = *impl_;
    impl.config = config;
    impl.sample_rate = config.sample_rate;
    const auto& backend = config.backend;
    if (backend == "none") {
        impl.description = "audio off (backend none)";
        return;
    }
    check_soundfont(config.soundfont);

    if (is_wav_backend(backend)) {
        impl.synth = std::make_unique<Synth>(config, impl.sample_rate);
        std::string why_not;
        if (!impl.open_wav(backend, why_not)) throw std::runtime_error("audio backend '" + backend + "': " + why_not);
        impl.backend = "wav";
        impl.description = "rendering in real time to " + backend + " (no sound is played)";
    } else {
        std::string fallback_reason = "no audio device";
        {
            QuietAudioLibraries quiet;
            impl.portaudio = std::make_unique<PortAudioLibrary>();
            std::string why_not;
            const auto device = impl.find_device(backend == "jack" ? paJACK : paInDevelopment, why_not);
            if (device != paNoDevice) {
                impl.sample_rate = impl.rate_for(device);
                impl.synth = std::make_unique<Synth>(config, impl.sample_rate);
                if (auto failure = impl.start_stream(device)) {
                    why_not = *failure;
                    fallback_reason = "audio device unavailable (" + why_not + ")";
                } else {
                    const bool jack = Pa_GetHostApiInfo(Pa_GetDeviceInfo(device)->hostApi)->type == paJACK;
                    impl.backend = jack ? "jack" : "portaudio";
                    impl.description = impl.describe_device(device);
                    return;
                }
            }
            impl.portaudio.reset();
            if (backend != "auto") throw std::runtime_error("audio backend '" + backend + "': " + why_not);
        }
        if (!impl.synth) impl.synth = std::make_unique<Synth>(config, impl.sample_rate);
        std::string why_not;
        if (!impl.open_wav(config.wav_fallback, why_not)) {
            // "auto" must not stop the daemon: it plays nothing and says why.
            impl.synth.reset();
            impl.description = fallback_reason + ", and " + why_not + ": audio off";
            return;
        }
        impl.backend = "wav";
        impl.description = fallback_reason + ": rendering to " + config.wav_fallback.string();
    }
    // The timeline starts now, after the SoundFont has loaded (which takes a while).
    impl.wav_origin = monotonic_ns();
    impl.wav_thread = std::thread([&impl] { impl.run_wav(); });
}

AudioOutput::~AudioOutput() { stop(); }

std::string AudioOutput::description() const { return impl_->description; }
std::string AudioOutput::backend() const { return impl_->backend; }

bool AudioOutput::push(const midi::Message& message) {
    auto& impl = *impl_;
    if (impl.synth && !impl.queue.push(message)) {
        impl.dropped.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    impl.events.fetch_add(1, std::memory_order_relaxed);
    return true;
}

void AudioOutput::all_notes_off() {
    auto& impl = *impl_;
    const auto now = monotonic_ns();
    auto previous = impl.panic_request.load(std::memory_order_relaxed);
    while (previous < now &&
           !impl.panic_request.compare_exchange_weak(previous, now, std::memory_order_release, std::memory_order_relaxed)) {
    }
}

void AudioOutput::stop() {
    auto& impl = *impl_;
    std::lock_guard lock(impl.stop_mutex);
    if (impl.stopped) return;
    impl.stopped = true;
    if (impl.stream) {
        QuietAudioLibraries quiet;
        Pa_StopStream(impl.stream);
        Pa_CloseStream(impl.stream);
        impl.stream = nullptr;
        impl.portaudio.reset();
    }
    if (impl.wav_thread.joinable()) {
        impl.stop_requested.store(monotonic_ns(), std::memory_order_release);
        impl.wav_thread.join();
    }
    if (impl.wav) {
        if (sf_close(impl.wav) != 0) impl.write_errors.fetch_add(1, std::memory_order_relaxed);
        impl.wav = nullptr;
    }
}

AudioOutput::Counters AudioOutput::counters() const {
    const auto& impl = *impl_;
    Counters counters;
    counters.events = impl.events.load(std::memory_order_relaxed);
    counters.dropped = impl.dropped.load(std::memory_order_relaxed);
    counters.underruns = impl.underruns.load(std::memory_order_relaxed);
    counters.frames = impl.frames.load(std::memory_order_relaxed);
    counters.write_errors = impl.write_errors.load(std::memory_order_relaxed);
    return counters;
}

}  // namespace kanade::io
