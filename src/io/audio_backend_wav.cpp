// The WAV backend: a 16-bit stereo file rendered in real time by a thread of its own, for
// a machine without an audio device. Block k stands for [origin + k blocks, origin + k+1
// blocks) and is rendered once that span has passed, so the file's timeline is the
// monotonic clock's from the origin on; stop() adds the release tail and closes it valid.
#include "audio_backend.hpp"

#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <thread>
#include <vector>

namespace kanade::io::detail {
namespace {

constexpr double tail_seconds = 1.0;  // rendered after stop(): releases and reverb

class WavBackend final : public AudioBackend {
public:
    WavBackend(AudioShared& shared, SNDFILE* file, const std::filesystem::path& path)
        : shared_(shared), file_(file), path_(path) {
        // The timeline starts now, after the SoundFont has loaded (which takes a while).
        origin_ = monotonic_ns();
        thread_ = std::thread([this] { run(); });
    }
    ~WavBackend() override { stop(); }
    WavBackend(const WavBackend&) = delete;
    WavBackend& operator=(const WavBackend&) = delete;

    std::string name() const override { return "wav"; }
    std::string description() const override {
        return "rendering in real time to " + path_.string() + " (no sound is played)";
    }

    void stop() override {
        if (thread_.joinable()) {
            stop_requested_.store(monotonic_ns(), std::memory_order_release);
            thread_.join();
        }
        if (file_) {
            if (sf_close(file_) != 0) shared_.write_errors.fetch_add(1, std::memory_order_relaxed);
            file_ = nullptr;
        }
    }

private:
    // Converted here, rounding to nearest: libsndfile's own conversion turns the reverb's
    // anti-denormal offset (some 1e-8) into a constant -1, and silence should be 0.
    void write(const std::vector<float>& block, std::vector<short>& pcm) {
        std::transform(block.begin(), block.end(), pcm.begin(), [](float sample) {
            return static_cast<short>(std::lrint(std::clamp(sample, -1.0f, 1.0f) * 32767.0f));
        });
        const auto count = static_cast<sf_count_t>(pcm.size() / synth_channels);
        if (sf_writef_short(file_, pcm.data(), count) != count)
            shared_.write_errors.fetch_add(1, std::memory_order_relaxed);
    }

    // Late blocks are caught up at once; the file never loses time.
    void run() {
        const int rate = shared_.sample_rate;
        const int block = shared_.config.block_frames;
        const std::int64_t block_ns = frames_to_ns(static_cast<std::uint64_t>(block), rate);
        std::vector<float> buffer(static_cast<std::size_t>(block) * synth_channels);
        std::vector<short> pcm(buffer.size());
        std::uint64_t position = 0, header_at = 0;
        while (true) {
            const auto start = origin_ + frames_to_ns(position, rate);
            const auto end = origin_ + frames_to_ns(position + static_cast<std::uint64_t>(block), rate);
            // Up to the moment stop() was called, however late this thread is running.
            auto stop_at = stop_requested_.load(std::memory_order_acquire);
            if (stop_at == 0) {
                clock::sleep_until_ns(end);
                stop_at = stop_requested_.load(std::memory_order_acquire);
            }
            if (stop_at != 0 && end > stop_at) break;
            if (monotonic_ns() - end > block_ns) shared_.underruns.fetch_add(1, std::memory_order_relaxed);
            shared_.render(buffer.data(), block, start, end);
            write(buffer, pcm);
            position += static_cast<std::uint64_t>(block);
            // About once a second the header learns the length, so a killed daemon
            // leaves a file that plays up to then.
            if (position - header_at >= static_cast<std::uint64_t>(rate)) {
                sf_command(file_, SFC_UPDATE_HEADER_NOW, nullptr, 0);
                header_at = position;
            }
        }
        shared_.finish(origin_ + frames_to_ns(position, rate));
        const auto tail_blocks = static_cast<int>(std::ceil(tail_seconds * rate / block));
        for (int i = 0; i < tail_blocks; ++i) {
            shared_.render_tail(buffer.data(), block);
            write(buffer, pcm);
        }
    }

    AudioShared& shared_;
    SNDFILE* file_;
    std::filesystem::path path_;
    std::int64_t origin_ = 0;
    std::atomic<std::int64_t> stop_requested_{0};  // when stop() was called; 0: running
    std::thread thread_;
};

}  // namespace

BackendOpening open_wav_backend(AudioShared& shared, const std::filesystem::path& path) {
    shared.prepare_synth();
    BackendOpening opening;
    std::error_code error;
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), error);
    SF_INFO info{};
    info.samplerate = shared.sample_rate;
    info.channels = synth_channels;
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    SNDFILE* file = sf_open(path.c_str(), SFM_WRITE, &info);
    if (!file) {
        opening.why_not = "cannot create " + path.string() + ": " + sf_strerror(nullptr);
        return opening;
    }
    opening.backend = std::make_unique<WavBackend>(shared, file, path);
    return opening;
}

}  // namespace kanade::io::detail
