// The PortAudio backend: its default output device (ALSA, say), or the default device of
// its JACK host API. PortAudio's callback is the audio thread; each block stands for the
// time since the previous callback, so events keep their spacing, one block late.
#include "audio_backend.hpp"

#include <alsa/asoundlib.h>
#include <jack/jack.h>
#include <pa_jack.h>
#include <portaudio.h>

#include <cmath>
#include <cstdlib>
#include <optional>

namespace kanade::io::detail {
namespace {

// PortAudio's JACK client; "kanade" itself is the MIDI ports' client.
constexpr const char* jack_client_name = "kanade-synth";

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
    ~PortAudioLibrary() { terminate(); }
    PortAudioLibrary(const PortAudioLibrary&) = delete;
    PortAudioLibrary& operator=(const PortAudioLibrary&) = delete;
    PaError error() const { return error_; }
    void terminate() {
        if (error_ == paNoError) Pa_Terminate();
        error_ = paNotInitialized;
    }

private:
    PaError error_;
};

bool is_jack_device(PaDeviceIndex device) {
    return Pa_GetHostApiInfo(Pa_GetDeviceInfo(device)->hostApi)->type == paJACK;
}

PaStreamParameters stereo_output(PaDeviceIndex device) {
    PaStreamParameters parameters{};
    parameters.device = device;
    parameters.channelCount = synth_channels;
    parameters.sampleFormat = paFloat32;
    parameters.suggestedLatency = Pa_GetDeviceInfo(device)->defaultLowOutputLatency;
    return parameters;
}

class PortAudioBackend final : public AudioBackend {
public:
    explicit PortAudioBackend(AudioShared& shared) : shared_(shared) {}
    ~PortAudioBackend() override { stop(); }
    PortAudioBackend(const PortAudioBackend&) = delete;
    PortAudioBackend& operator=(const PortAudioBackend&) = delete;

    // The device, paNoDevice with the reason in why_not.
    PaDeviceIndex find_device(bool jack, std::string& why_not) {
        if (library_.error() != paNoError) {
            why_not = std::string("PortAudio did not start: ") + Pa_GetErrorText(library_.error());
            return paNoDevice;
        }
        if (!jack) {
            const auto device = Pa_GetDefaultOutputDevice();
            if (device == paNoDevice) why_not = "no audio output device (PortAudio found no sound card)";
            return device;
        }
        const auto index = Pa_HostApiTypeIdToHostApiIndex(paJACK);
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

    // The rate to ask of `device`: the configured one where it takes it; a JACK server has exactly one.
    int rate_for(PaDeviceIndex device) const {
        const double device_rate = Pa_GetDeviceInfo(device)->defaultSampleRate;
        if (is_jack_device(device)) return static_cast<int>(std::lround(device_rate));
        const auto parameters = stereo_output(device);
        const int wanted = shared_.config.sample_rate;
        if (Pa_IsFormatSupported(nullptr, &parameters, wanted) == paFormatIsSupported ||
            device_rate < min_sample_rate || device_rate > max_sample_rate)
            return wanted;
        return static_cast<int>(std::lround(device_rate));
    }

    // Opens and starts a stream on `device`; the synth must be ready. The reason on failure.
    std::optional<std::string> start(PaDeviceIndex device) {
        jack_ = is_jack_device(device);
        const auto parameters = stereo_output(device);
        // JACK sets the period; a fixed block size there would add PortAudio's own buffering.
        const unsigned long frames_per_buffer =
            jack_ ? paFramesPerBufferUnspecified : static_cast<unsigned long>(shared_.config.block_frames);
        PaError error = Pa_OpenStream(&stream_, nullptr, &parameters, shared_.sample_rate, frames_per_buffer, paNoFlag,
                                      &PortAudioBackend::callback, this);
        if (error == paNoError) {
            error = Pa_StartStream(stream_);
            if (error == paNoError) {
                describe(device);
                return std::nullopt;
            }
            Pa_CloseStream(stream_);
        }
        stream_ = nullptr;
        return std::string("cannot open '") + Pa_GetDeviceInfo(device)->name + "': " + Pa_GetErrorText(error);
    }

    std::string name() const override { return jack_ ? "jack" : "portaudio"; }
    std::string description() const override { return description_; }

    void stop() override {
        QuietAudioLibraries quiet;
        if (stream_) {
            Pa_StopStream(stream_);
            Pa_CloseStream(stream_);
            stream_ = nullptr;
        }
        library_.terminate();
    }

private:
    static int callback(const void*, void* output, unsigned long frame_count, const PaStreamCallbackTimeInfo*,
                        PaStreamCallbackFlags flags, void* self) {
        auto& shared = static_cast<PortAudioBackend*>(self)->shared_;
        if (flags & paOutputUnderflow) shared.underruns.fetch_add(1, std::memory_order_relaxed);
        const auto end = monotonic_ns();
        const auto start = end - frames_to_ns(frame_count, shared.sample_rate);
        shared.render(static_cast<float*>(output), static_cast<int>(frame_count), start, end);
        return paContinue;
    }

    void describe(PaDeviceIndex device) {
        const PaDeviceInfo* info = Pa_GetDeviceInfo(device);
        const std::string rate = std::to_string(shared_.sample_rate) + " Hz";
        if (jack_)
            description_ = std::string("JACK via PortAudio: client ") + jack_client_name + " playing to '" +
                           info->name + "' at " + rate;
        else
            description_ = std::string("PortAudio: ") + Pa_GetHostApiInfo(info->hostApi)->name + " device '" +
                           info->name + "' at " + rate;
    }

    AudioShared& shared_;
    PortAudioLibrary library_;  // declared before the stream it outlives
    PaStream* stream_ = nullptr;
    bool jack_ = false;
    std::string description_;
};

}  // namespace

BackendOpening open_portaudio_backend(AudioShared& shared, bool jack) {
    QuietAudioLibraries quiet;
    BackendOpening opening;
    auto backend = std::make_unique<PortAudioBackend>(shared);
    const auto device = backend->find_device(jack, opening.why_not);
    if (device == paNoDevice) return opening;
    opening.device_found = true;
    shared.sample_rate = backend->rate_for(device);
    shared.prepare_synth();
    if (auto failure = backend->start(device)) {
        opening.why_not = *failure;
        return opening;
    }
    opening.backend = std::move(backend);
    return opening;
}

}  // namespace kanade::io::detail
