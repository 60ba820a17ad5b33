#include "kanade/io/wav_file.hpp"

#include "kanade/util/atomic_file.hpp"

#include <sndfile.h>

#include <fcntl.h>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <unistd.h>

namespace kanade::io {
using util::sync_file;

WavWriter::WavWriter(const std::filesystem::path& path, int channels, int sample_rate)
    : path_(path), channels_(channels) {
    if (channels < 1 || channels > 256)
        throw std::invalid_argument("cannot write " + path.string() + ": " + std::to_string(channels) + " channels");
    if (sample_rate < 1)
        throw std::invalid_argument("cannot write " + path.string() + ": sample rate " + std::to_string(sample_rate));
    auto parent = path.parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    temporary_ = util::temporary_path_beside(path);

    SF_INFO info{};
    info.samplerate = sample_rate;
    info.channels = channels;
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    file_ = sf_open(temporary_.c_str(), SFM_WRITE, &info);
    if (!file_)
        throw std::runtime_error("cannot create " + temporary_.string() + " for " + path.string() + ": " +
                                 sf_strerror(nullptr));
    // Without clipping, libsndfile wraps samples beyond full scale into loud clicks.
    sf_command(file_, SFC_SET_CLIPPING, nullptr, SF_TRUE);
}

WavWriter::~WavWriter() {
    if (committed_) return;
    close_file();
    std::error_code ignored;
    std::filesystem::remove(temporary_, ignored);
}

void WavWriter::close_file() {
    if (file_) sf_close(file_);
    file_ = nullptr;
}

void WavWriter::write(std::span<const float> samples) {
    if (!file_) throw std::logic_error("write to " + path_.string() + " after commit");
    if (samples.size() % static_cast<std::size_t>(channels_) != 0)
        throw std::invalid_argument("cannot write " + path_.string() + ": " + std::to_string(samples.size()) +
                                    " samples are not whole frames of " + std::to_string(channels_));
    std::size_t frames = samples.size() / static_cast<std::size_t>(channels_);
    if (frames == 0) return;
    sf_count_t written = sf_writef_float(file_, samples.data(), static_cast<sf_count_t>(frames));
    if (written != static_cast<sf_count_t>(frames))
        throw std::runtime_error("cannot write " + path_.string() + ": " + sf_strerror(file_));
    frames_written_ += frames;
}

void WavWriter::commit() {
    if (committed_) return;
    if (!file_) throw std::logic_error("commit of " + path_.string() + " twice");
    sf_write_sync(file_);
    int error = sf_close(file_);
    file_ = nullptr;
    if (error != 0) throw std::runtime_error("cannot write " + path_.string() + ": " + sf_error_number(error));
    sync_file(temporary_);
    std::error_code rename_error;
    std::filesystem::rename(temporary_, path_, rename_error);
    if (rename_error)
        throw std::runtime_error("cannot move " + temporary_.string() + " to " + path_.string() + ": " +
                                 rename_error.message());
    committed_ = true;
}

void write_wav(const std::filesystem::path& path, std::span<const float> samples, int channels, int sample_rate) {
    WavWriter writer(path, channels, sample_rate);
    writer.write(samples);
    writer.commit();
}

WavData read_wav(const std::filesystem::path& path) {
    SF_INFO info{};
    SNDFILE* file = sf_open(path.c_str(), SFM_READ, &info);
    if (!file) throw std::runtime_error("cannot read " + path.string() + ": " + sf_strerror(nullptr));
    struct Closer {
        SNDFILE* file;
        ~Closer() { sf_close(file); }
    } closer{file};

    if (info.channels < 1 || info.frames < 0)
        throw std::runtime_error("cannot read " + path.string() + ": no audio channels");
    // A bound against headers that claim absurd lengths: an hour of 8 channels at 192 kHz.
    constexpr sf_count_t max_samples = sf_count_t{3600} * 192000 * 8;
    if (info.frames > max_samples / info.channels)
        throw std::runtime_error("cannot read " + path.string() + ": too long (" + std::to_string(info.frames) +
                                 " frames)");
    WavData data;
    data.channels = info.channels;
    data.sample_rate = info.samplerate;
    data.samples.resize(static_cast<std::size_t>(info.frames) * static_cast<std::size_t>(info.channels));
    sf_count_t got = sf_readf_float(file, data.samples.data(), info.frames);
    if (got < 0) throw std::runtime_error("cannot read " + path.string() + ": " + sf_strerror(file));
    data.samples.resize(static_cast<std::size_t>(got) * static_cast<std::size_t>(info.channels));
    return data;
}

}  // namespace kanade::io
