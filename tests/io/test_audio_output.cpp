#include "kanade/io/audio_output.hpp"

#include "kanade/io/wav_file.hpp"
#include "jack_server.hpp"
#include "test_paths.hpp"
#include "skip.hpp"

#include <doctest/doctest.h>

#include <alsa/asoundlib.h>
#include <jack/jack.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>
#include <memory>
#include <numbers>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace io = kanade::io;
namespace midi = kanade::midi;
namespace test = kanade::test;

namespace {

std::int64_t now_ns() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

double seconds_between(std::int64_t from, std::int64_t to) { return static_cast<double>(to - from) / 1e9; }

// Root mean square of both channels over [from, to) seconds.
double rms(const io::WavData& wav, double from, double to) {
    const auto rate = static_cast<double>(wav.sample_rate);
    const auto first = static_cast<std::size_t>(std::max(0.0, from * rate));
    const auto last = std::min(wav.frames(), static_cast<std::size_t>(std::max(0.0, to * rate)));
    if (last <= first) return 0;
    double sum = 0;
    for (std::size_t i = first * 2; i < last * 2; ++i) sum += static_cast<double>(wav.samples[i]) * wav.samples[i];
    return std::sqrt(sum / static_cast<double>((last - first) * 2));
}

// The time of the first sample louder than `threshold`, or -1.
double onset(const io::WavData& wav, float threshold = 1e-3f) {
    for (std::size_t i = 0; i < wav.samples.size(); ++i)
        if (std::abs(wav.samples[i]) > threshold) return static_cast<double>(i / 2) / wav.sample_rate;
    return -1;
}

io::AudioOutputConfig wav_config(const std::filesystem::path& path) {
    io::AudioOutputConfig config;
    config.backend = path.string();
    return config;
}

}  // namespace

TEST_CASE("the WAV backend renders pushed notes in real time, silent until the first") {
    test::TemporaryFolder folder;
    const auto path = folder / "live.wav";
    io::AudioOutput audio(wav_config(path));
    const auto start = now_ns();  // the file's time 0, within a few microseconds
    CHECK(audio.backend() == "wav");
    CHECK(audio.description().find(path.string()) != std::string::npos);

    sleep_ms(300);
    const auto first = now_ns();
    CHECK(audio.push(midi::Message::note_on(0, 60, 100, first)));
    sleep_ms(250);
    CHECK(audio.push(midi::Message::note_off(0, 60, now_ns())));
    CHECK(audio.push(midi::Message::note_on(0, 64, 100, now_ns())));
    sleep_ms(250);
    CHECK(audio.push(midi::Message::note_off(0, 64, now_ns())));
    CHECK(audio.push(midi::Message::note_on(0, 67, 100, now_ns())));
    sleep_ms(200);
    CHECK(audio.push(midi::Message::note_off(0, 67, now_ns())));
    const auto stopped = now_ns();
    audio.stop();
    audio.stop();  // idempotent

    const auto wav = io::read_wav(path);
    CHECK(wav.channels == 2);
    CHECK(wav.sample_rate == 44100);
    const double seconds = static_cast<double>(wav.frames()) / wav.sample_rate;
    const double expected = seconds_between(start, stopped) + 1.0;  // and the release tail
    CHECK(std::abs(seconds - expected) < 0.3);

    CHECK(rms(wav, 0, 0.2) < 1e-5);
    const double heard = onset(wav);
    // Played at its time stamp: the block it falls in (5.8 ms) and FluidSynth's 64 frames.
    CHECK(std::abs(heard - seconds_between(start, first)) < 0.03);
    CHECK(rms(wav, heard, heard + 0.7) > 0.01);

    const auto counters = audio.counters();
    CHECK(counters.events == 6);
    CHECK(counters.dropped == 0);
    CHECK(counters.write_errors == 0);
    CHECK(counters.frames == wav.frames());
}

TEST_CASE("the destructor finalises a WAV that was never stopped") {
    test::TemporaryFolder folder;
    const auto path = folder / "sub" / "scoped.wav";
    {
        io::AudioOutput audio(wav_config(path));
        audio.push(midi::Message::note_on(0, 72, 100, now_ns()));
        sleep_ms(200);
    }
    const auto wav = io::read_wav(path);
    CHECK(static_cast<double>(wav.frames()) / wav.sample_rate > 1.1);
    CHECK(rms(wav, 0.0, 0.5) > 0.01);
}

// What a killed daemon leaves is what is on disk at that moment: read while it runs.
// (Not a forked child: FluidSynth loads SoundFonts with OpenMP, whose threads a fork loses.)
TEST_CASE("while it renders, the WAV on disk reads back up to the last second") {
    test::TemporaryFolder folder;
    const auto path = folder / "running.wav";
    io::AudioOutput audio(wav_config(path));
    audio.push(midi::Message::note_on(0, 60, 100, now_ns()));
    sleep_ms(2300);
    const auto snapshot = folder / "snapshot.wav";
    std::filesystem::copy_file(path, snapshot);
    const auto wav = io::read_wav(snapshot);
    const double seconds = static_cast<double>(wav.frames()) / wav.sample_rate;
    CHECK(seconds >= 1.0);  // the header is updated about once a second
    CHECK(seconds <= 2.4);
    CHECK(rms(wav, 0.0, 1.0) > 0.01);
    audio.stop();
    CHECK(io::read_wav(path).frames() > wav.frames());
}

TEST_CASE("all_notes_off releases held and sustained notes") {
    test::TemporaryFolder folder;
    const auto path = folder / "panic.wav";
    auto config = wav_config(path);
    config.program = 48;  // strings: they sound for as long as they are held
    io::AudioOutput audio(config);
    const auto start = now_ns();
    audio.push(midi::Message::control_change(0, 64, 127, now_ns()));  // sustain pedal down
    audio.push(midi::Message::note_on(0, 60, 110, now_ns()));
    audio.push(midi::Message::note_on(0, 67, 110, now_ns()));
    audio.push(midi::Message::note_off(0, 67, now_ns()));  // held by the pedal
    sleep_ms(700);
    const auto panic = now_ns();
    audio.all_notes_off();
    sleep_ms(1800);
    audio.stop();

    const auto wav = io::read_wav(path);
    const double panic_s = seconds_between(start, panic);
    const double held = rms(wav, panic_s - 0.3, panic_s);
    const double after = rms(wav, panic_s + 1.3, panic_s + 1.7);
    CHECK(held > 0.01);
    CHECK(after < held * 0.05);
}

TEST_CASE("a full queue refuses events and counts them") {
    test::TemporaryFolder folder;
    io::AudioOutput audio(wav_config(folder / "full.wav"));
    // Stamped half a second ahead, they wait in the queue: none is played before the
    // last is pushed, so exactly the queue's capacity is taken.
    const auto later = now_ns() + 500'000'000;
    int accepted = 0;
    for (int i = 0; i < 5000; ++i) accepted += audio.push(midi::Message::control_change(0, 1, i % 128, later)) ? 1 : 0;
    const auto counters = audio.counters();
    CHECK(accepted == 4096);
    CHECK(counters.events == 4096);
    CHECK(counters.dropped == 5000 - 4096);
    audio.stop();
}

TEST_CASE("backend none accepts events and plays nothing, SoundFont or not") {
    io::AudioOutputConfig config;
    config.backend = "none";
    config.soundfont = "/nonexistent/none.sf2";
    io::AudioOutput audio(config);
    CHECK(audio.backend() == "none");
    CHECK(!audio.description().empty());
    for (int i = 0; i < 10000; ++i) CHECK(audio.push(midi::Message::note_on(0, 60, 100)));
    audio.all_notes_off();
    audio.stop();
    const auto counters = audio.counters();
    CHECK(counters.events == 10000);
    CHECK(counters.dropped == 0);
    CHECK(counters.frames == 0);
}

TEST_CASE("a missing SoundFont throws naming it, and no file is left behind") {
    test::TemporaryFolder folder;
    auto config = wav_config(folder / "never.wav");
    config.soundfont = folder / "missing.sf2";
    CHECK_THROWS_WITH_AS(io::AudioOutput{config}, doctest::Contains((folder / "missing.sf2").c_str()),
                         std::runtime_error);
    CHECK(!std::filesystem::exists(folder / "never.wav"));
    config.backend = "auto";
    CHECK_THROWS_WITH_AS(io::AudioOutput{config}, doctest::Contains("SoundFont not found"), std::runtime_error);

    config.soundfont = test::source_dir / "CMakeLists.txt";  // a file, but no SoundFont
    CHECK_THROWS_WITH_AS(io::AudioOutput{config}, doctest::Contains("not a SoundFont"), std::runtime_error);
}

TEST_CASE("settings out of range and unknown backends are refused") {
    io::AudioOutputConfig config;
    config.backend = "pulse";
    CHECK_THROWS_WITH_AS(io::AudioOutput{config}, doctest::Contains("unknown backend 'pulse'"), std::invalid_argument);
    config.backend = "none";
    config.sample_rate = 192000;
    CHECK_THROWS_AS(io::AudioOutput{config}, std::invalid_argument);
    config.sample_rate = 44100;
    config.program = 128;
    CHECK_THROWS_AS(io::AudioOutput{config}, std::invalid_argument);
}

TEST_CASE("auto falls back to a WAV without a device, an explicit backend that cannot open throws") {
    test::TemporaryFolder folder;
    test::ScopedJackServerName no_server;  // a name no JACK server answers to
    io::AudioOutputConfig config;
    config.wav_fallback = folder / "fallback.wav";
    {
        io::AudioOutput audio(config);
        if (audio.backend() != "wav") {
            test::skip("no-sound-card",
                       "this machine has an audio device, so nothing falls back: " + audio.description());
            return;
        }
        CHECK(audio.description() == "no audio device: rendering to " + config.wav_fallback.string());
        audio.push(midi::Message::note_on(0, 60, 100, now_ns()));
        sleep_ms(100);
    }
    CHECK(io::read_wav(config.wav_fallback).frames() > 44100);

    config.backend = "portaudio";
    CHECK_THROWS_WITH_AS(io::AudioOutput{config}, doctest::Contains("no audio output device"), std::runtime_error);
    config.backend = "jack";
    CHECK_THROWS_WITH_AS(io::AudioOutput{config}, doctest::Contains("no JACK server is running"), std::runtime_error);
    std::filesystem::create_directories(folder / "blocked");
    std::ofstream(folder / "blocked" / "file") << "a file where a folder should be";
    config.backend = (folder / "blocked" / "file" / "x.wav").string();
    CHECK_THROWS_WITH_AS(io::AudioOutput{config}, doctest::Contains("cannot create"), std::runtime_error);
}

namespace {

// A JACK client with two audio inputs that measures what arrives.
class JackMeter {
public:
    JackMeter() {
        client_ = jack_client_open("meter", JackNoStartServer, nullptr);
        if (!client_) throw std::runtime_error("meter: no JACK server");
        left_ = jack_port_register(client_, "left", JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
        right_ = jack_port_register(client_, "right", JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
        jack_set_process_callback(client_, &JackMeter::process, this);
        jack_activate(client_);
    }
    ~JackMeter() { jack_client_close(client_); }
    JackMeter(const JackMeter&) = delete;
    JackMeter& operator=(const JackMeter&) = delete;

    // Connects the first two audio outputs of `client` to ours.
    bool connect_from(const std::string& client) {
        const char** ports = jack_get_ports(client_, (client + ":").c_str(), JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput);
        if (!ports) return false;
        bool ok = ports[0] && ports[1] && jack_connect(client_, ports[0], jack_port_name(left_)) == 0 &&
                  jack_connect(client_, ports[1], jack_port_name(right_)) == 0;
        jack_free(ports);
        return ok;
    }
    float peak() const { return peak_.load(); }

private:
    static int process(jack_nframes_t frames, void* self_pointer) {
        auto& self = *static_cast<JackMeter*>(self_pointer);
        float peak = self.peak_.load(std::memory_order_relaxed);
        for (auto* port : {self.left_, self.right_}) {
            const auto* samples = static_cast<const float*>(jack_port_get_buffer(port, frames));
            for (jack_nframes_t i = 0; i < frames; ++i) peak = std::max(peak, std::abs(samples[i]));
        }
        self.peak_.store(peak, std::memory_order_relaxed);
        return 0;
    }

    jack_client_t* client_ = nullptr;
    jack_port_t* left_ = nullptr;
    jack_port_t* right_ = nullptr;
    std::atomic<float> peak_{0};
};

}  // namespace

TEST_CASE("the jack backend plays into a JACK server at its sample rate") {
    if (!test::JackServer::available()) {
        test::skip("jackd", "jackd is not installed");
        return;
    }
    test::JackServer server;  // 48000 Hz, 256-frame periods
    io::AudioOutputConfig config;
    config.backend = "jack";
    std::unique_ptr<io::AudioOutput> audio;
    try {
        audio = std::make_unique<io::AudioOutput>(config);
    } catch (const std::runtime_error& error) {
        // PortAudio built without its JACK host API cannot do this.
        test::skip("portaudio-jack", std::string("PortAudio cannot reach JACK here: ") + error.what());
        return;
    }
    CHECK(audio->backend() == "jack");
    CHECK(audio->description().find("48000 Hz") != std::string::npos);

    JackMeter meter;
    REQUIRE(meter.connect_from("kanade-synth"));
    sleep_ms(100);
    CHECK(meter.peak() < 1e-5f);  // nothing played yet (the reverb's anti-denormal offset aside)
    CHECK(audio->push(midi::Message::note_on(0, 60, 110, now_ns())));
    sleep_ms(400);
    CHECK(audio->push(midi::Message::note_off(0, 60, now_ns())));
    CHECK(meter.peak() > 0.02f);
    const auto frames = audio->counters().frames;
    CHECK(frames > 48000 * 3 / 10);  // the dummy driver runs in real time: about 0.5 s
    CHECK(frames < 48000 * 3);
    audio->stop();
    audio->stop();
    const auto after = audio->counters().frames;
    sleep_ms(100);
    CHECK(audio->counters().frames == after);  // the stream has ended
}

namespace {

// For one scope, ALSA's default PCM is a `file` plugin that writes what is played to a raw
// file (16-bit stereo at `rate`, the `plug` in front converting) and sends it on to the
// null PCM: PortAudio's ALSA host API then finds a "default" device, and no sound card is
// needed. The file goes where ALSA reads the user's configuration, $XDG_CONFIG_HOME/alsa/
// asoundrc (alsa.conf's last hook, after /etc/asound.conf and ~/.asoundrc, so this default
// wins). ALSA keeps its configuration for the process: freeing it makes the next open (the
// next Pa_Initialize) read the files again, with the environment as it is then.
class AlsaFilePcm {
public:
    static constexpr int rate = 44100;

    explicit AlsaFilePcm(const test::TemporaryFolder& folder) : raw_(folder / "played.raw") {
        const char* previous = std::getenv("XDG_CONFIG_HOME");
        if (previous) previous_ = previous;
        std::filesystem::create_directories(folder / "alsa");
        std::ofstream(folder / "alsa" / "asoundrc")
            << "pcm.!default {\n"
            << "    type plug\n"
            << "    slave.pcm { type file; slave.pcm \"null\"; file \"" << raw_.string() << "\"; format \"raw\" }\n"
            << "    slave.format S16_LE; slave.rate " << rate << "; slave.channels 2\n"
            << "}\n";
        ::setenv("XDG_CONFIG_HOME", folder.path().c_str(), 1);
        snd_config_update_free_global();
        // What PortAudio will open, opened here first: if ALSA cannot, the test cannot run.
        snd_pcm_t* pcm = nullptr;
        if (const int error = snd_pcm_open(&pcm, "default", SND_PCM_STREAM_PLAYBACK, SND_PCM_NONBLOCK); error < 0) {
            problem_ = std::string("ALSA cannot open the file PCM: ") + snd_strerror(error);
            return;
        }
        snd_pcm_type_t type = snd_pcm_type(pcm);
        snd_pcm_close(pcm);
        if (type != SND_PCM_TYPE_PLUG) problem_ = "ALSA's default PCM is not the plug in front of the file plugin";
        std::filesystem::remove(raw_);
    }
    ~AlsaFilePcm() {
        if (previous_)
            ::setenv("XDG_CONFIG_HOME", previous_->c_str(), 1);
        else
            ::unsetenv("XDG_CONFIG_HOME");
        snd_config_update_free_global();
    }
    AlsaFilePcm(const AlsaFilePcm&) = delete;
    AlsaFilePcm& operator=(const AlsaFilePcm&) = delete;

    const std::optional<std::string>& problem() const { return problem_; }

    // The left channel of what was played, as -1..1.
    std::vector<double> played_left() const {
        std::ifstream in(raw_, std::ios::binary);
        const std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
        std::vector<double> left(bytes.size() / 4);
        for (std::size_t i = 0; i < left.size(); ++i) {
            const auto low = static_cast<std::uint8_t>(bytes[4 * i]);
            const auto high = static_cast<std::uint8_t>(bytes[4 * i + 1]);
            left[i] = static_cast<std::int16_t>(low | (high << 8)) / 32768.0;
        }
        return left;
    }

private:
    std::filesystem::path raw_;
    std::optional<std::string> previous_;
    std::optional<std::string> problem_;
};

// Waits until the output has synthesized `frames` frames (PortAudio's callback runs as fast
// as the PCM takes blocks: the null PCM takes them at once, a sound card in real time).
bool wait_for_frames(const io::AudioOutput& audio, std::uint64_t frames) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (audio.counters().frames < frames) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        sleep_ms(1);
    }
    return true;
}

double rms(const std::vector<double>& samples, std::size_t from, std::size_t to) {
    to = std::min(to, samples.size());
    if (to <= from) return 0;
    double sum = 0;
    for (std::size_t i = from; i < to; ++i) sum += samples[i] * samples[i];
    return std::sqrt(sum / static_cast<double>(to - from));
}

// The frequency, in 1 Hz steps over [low, high], where the spectrum of the samples peaks.
double dominant_frequency(const std::vector<double>& samples, std::size_t from, std::size_t to, int low, int high) {
    double best = 0, best_power = -1;
    for (int hz = low; hz <= high; ++hz) {
        // Goertzel: the power of one DFT bin at any frequency.
        const double coefficient = 2 * std::cos(2 * std::numbers::pi * hz / AlsaFilePcm::rate);
        double s1 = 0, s2 = 0;
        for (std::size_t i = from; i < to && i < samples.size(); ++i) {
            const double s0 = samples[i] + coefficient * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        const double power = s1 * s1 + s2 * s2 - coefficient * s1 * s2;
        if (power > best_power) {
            best_power = power;
            best = hz;
        }
    }
    return best;
}

}  // namespace

TEST_CASE("the portaudio backend plays through ALSA: silence, then A4, written by ALSA's file plugin") {
    test::TemporaryFolder folder;
    test::ScopedJackServerName no_server;  // ALSA's default, not a JACK server that happens to run
    AlsaFilePcm pcm(folder);
    if (pcm.problem()) {
        test::skip("alsa-file-pcm", *pcm.problem());
        return;
    }
    io::AudioOutputConfig config;
    config.backend = "portaudio";
    config.program = 73;  // flute: nearly a sine, so the fundamental dominates the spectrum
    std::uint64_t before_note = 0, after_note = 0;
    {
        io::AudioOutput audio(config);  // no device would throw, and fail the test
        CHECK(audio.backend() == "portaudio");
        CHECK(audio.description() == "PortAudio: ALSA device 'default' at 44100 Hz");
        // Counted in synthesized frames, not wall time, so that any speed of PCM will do.
        REQUIRE(wait_for_frames(audio, AlsaFilePcm::rate / 5));
        before_note = audio.counters().frames;
        CHECK(audio.push(midi::Message::note_on(0, 69, 110, now_ns())));  // A4, at once
        after_note = audio.counters().frames;
        REQUIRE(wait_for_frames(audio, after_note + AlsaFilePcm::rate / 2));
        CHECK(audio.push(midi::Message::note_off(0, 69, now_ns())));
        REQUIRE(wait_for_frames(audio, audio.counters().frames + AlsaFilePcm::rate / 5));
        audio.stop();
        CHECK(audio.counters().dropped == 0);
    }
    const auto left = pcm.played_left();
    INFO("frames played: " << left.size() << ", note pushed after frame " << before_note);
    // PortAudio may put a buffer of silence before the first block: the file is at least
    // as long as what was synthesized.
    REQUIRE(left.size() >= after_note + AlsaFilePcm::rate / 2);
    CHECK(rms(left, 0, before_note) < 1e-4);
    std::size_t onset = before_note;
    while (onset < left.size() && std::abs(left[onset]) < 1e-3) ++onset;
    REQUIRE(onset < left.size());
    // Played in the first block after the push, PortAudio's buffer aside (at most 0.2 s).
    CHECK(onset <= after_note + AlsaFilePcm::rate / 5);
    const auto from = onset + AlsaFilePcm::rate / 20, to = onset + AlsaFilePcm::rate * 2 / 5;
    CHECK(rms(left, from, to) > 0.01);
    const double hz = dominant_frequency(left, from, to, 100, 2000);
    CHECK(hz == doctest::Approx(440).epsilon(0.02));
}
