// WAV files through libsndfile: rendered audio is written as 16-bit PCM, streamed in
// blocks and made visible atomically (a temporary file beside the target, then a
// rename), so a crash or an error never leaves half a WAV under the real name.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <vector>

typedef struct sf_private_tag SNDFILE;

namespace kanade::io {

// Samples as floats in [-1, 1], channels interleaved.
struct WavData {
    std::vector<float> samples;
    int channels = 0;
    int sample_rate = 0;
    std::size_t frames() const { return channels > 0 ? samples.size() / static_cast<std::size_t>(channels) : 0; }
};

// Streams frames into a temporary file; commit() closes it and renames it into place.
// Destroyed without commit() (an error on the way), it removes the temporary file.
class WavWriter {
public:
    WavWriter(const std::filesystem::path& path, int channels, int sample_rate);
    ~WavWriter();
    WavWriter(const WavWriter&) = delete;
    WavWriter& operator=(const WavWriter&) = delete;

    // Interleaved samples, a whole number of frames; values beyond [-1, 1] are clipped.
    void write(std::span<const float> samples);
    void commit();

    int channels() const { return channels_; }
    std::size_t frames_written() const { return frames_written_; }

private:
    void close_file();

    std::filesystem::path path_;
    std::filesystem::path temporary_;
    SNDFILE* file_ = nullptr;
    int channels_;
    std::size_t frames_written_ = 0;
    bool committed_ = false;
};

// Throws std::runtime_error naming the file on any failure.
void write_wav(const std::filesystem::path& path, std::span<const float> samples, int channels, int sample_rate);
WavData read_wav(const std::filesystem::path& path);

}  // namespace kanade::io
