// Recorded audio in: WAV, FLAC, OGG/Vorbis, MP3 and the other formats libsndfile reads,
// at any sample rate and channel count, delivered as mono float samples at the rate the
// caller needs (libsamplerate, best sinc quality). Streams: an hour-long file is read
// and resampled a block at a time, never held whole.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace kanade::io {

// Names the file and what is wrong with it.
class AudioFileError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct AudioFileInfo {
    int sample_rate = 0;  // of the file
    int channels = 0;
    std::int64_t frames = 0;  // of the file (may be approximate for MP3)
    double seconds = 0;
    std::string format;  // e.g. "FLAC (Free Lossless Audio Codec)"
};

class AudioFileReader {
public:
    // Throws AudioFileError when the file cannot be opened or is not audio.
    AudioFileReader(const std::filesystem::path& path, int target_rate);
    ~AudioFileReader();
    AudioFileReader(const AudioFileReader&) = delete;
    AudioFileReader& operator=(const AudioFileReader&) = delete;

    const AudioFileInfo& info() const { return info_; }
    int target_rate() const { return target_rate_; }
    // The next mono samples at the target rate (about `file_frames` of the file's frames
    // worth). Throws AudioFileError on a read error.
    std::vector<float> read(std::size_t file_frames = 1 << 16);
    bool done() const { return output_done_; }

private:
    struct Handles;
    std::filesystem::path path_;
    int target_rate_;
    AudioFileInfo info_;
    std::unique_ptr<Handles> handles_;
    bool input_done_ = false, output_done_ = false;
};

// The first `frames` frames of interleaved audio, each the mean of its channels.
std::vector<float> mix_to_mono(std::span<const float> interleaved, std::size_t channels, std::size_t frames);

// The whole file as mono samples at `target_rate` (for short files and tests).
std::vector<float> read_audio_mono(const std::filesystem::path& path, int target_rate);

}  // namespace kanade::io
