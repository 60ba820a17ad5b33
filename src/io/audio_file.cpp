#include "kanade/io/audio_file.hpp"

#include <samplerate.h>
#include <sndfile.h>

#include <algorithm>

namespace kanade::io {

struct AudioFileReader::Handles {
    SNDFILE* file = nullptr;
    SRC_STATE* resampler = nullptr;
    ~Handles() {
        if (resampler) src_delete(resampler);
        if (file) sf_close(file);
    }
};

AudioFileReader::AudioFileReader(const std::filesystem::path& path, int target_rate)
    : path_(path), target_rate_(target_rate), handles_(std::make_unique<Handles>()) {
    if (target_rate < 1000 || target_rate > 768000)
        throw std::invalid_argument("audio: target sample rate " + std::to_string(target_rate) + " out of range");
    if (std::filesystem::is_directory(path)) throw AudioFileError(path.string() + ": a folder, not an audio file");
    SF_INFO sf_info{};
    handles_->file = sf_open(path.c_str(), SFM_READ, &sf_info);
    if (!handles_->file) throw AudioFileError(path.string() + ": cannot read as audio: " + sf_strerror(nullptr));
    if (sf_info.channels < 1 || sf_info.samplerate < 1)
        throw AudioFileError(path.string() + ": no channels or no sample rate in the header");
    info_.sample_rate = sf_info.samplerate;
    info_.channels = sf_info.channels;
    info_.frames = sf_info.frames;
    info_.seconds = static_cast<double>(sf_info.frames) / sf_info.samplerate;
    SF_FORMAT_INFO format{};
    format.format = sf_info.format & SF_FORMAT_TYPEMASK;
    if (sf_command(nullptr, SFC_GET_FORMAT_INFO, &format, sizeof format) == 0 && format.name)
        info_.format = format.name;
    if (sf_info.samplerate != target_rate) {
        int error = 0;
        handles_->resampler = src_new(SRC_SINC_BEST_QUALITY, 1, &error);
        if (!handles_->resampler) throw AudioFileError(path.string() + ": resampler: " + src_strerror(error));
    }
}

AudioFileReader::~AudioFileReader() = default;

std::vector<float> AudioFileReader::read(std::size_t file_frames) {
    if (output_done_) return {};
    std::vector<float> mono;
    if (!input_done_) {
        const auto channels = static_cast<std::size_t>(info_.channels);
        std::vector<float> interleaved(file_frames * channels);
        const auto got = sf_readf_float(handles_->file, interleaved.data(), static_cast<sf_count_t>(file_frames));
        if (got < 0 || sf_error(handles_->file) != SF_ERR_NO_ERROR)
            throw AudioFileError(path_.string() + ": read error: " + sf_strerror(handles_->file));
        if (got < static_cast<sf_count_t>(file_frames)) input_done_ = true;
        mono = mix_to_mono(interleaved, channels, static_cast<std::size_t>(got));
    }
    if (!handles_->resampler) {
        if (input_done_) output_done_ = true;
        return mono;
    }
    // Resample this block; at the end of the input, drain what the filter still holds.
    const double ratio = static_cast<double>(target_rate_) / info_.sample_rate;
    std::vector<float> out(static_cast<std::size_t>(static_cast<double>(mono.size()) * ratio) + 4096);
    std::vector<float> result;
    std::size_t consumed = 0;
    while (true) {
        SRC_DATA data{};
        data.data_in = mono.data() + consumed;
        data.input_frames = static_cast<long>(mono.size() - consumed);
        data.data_out = out.data();
        data.output_frames = static_cast<long>(out.size());
        data.src_ratio = ratio;
        data.end_of_input = input_done_ ? 1 : 0;
        if (int error = src_process(handles_->resampler, &data))
            throw AudioFileError(path_.string() + ": resampler: " + src_strerror(error));
        consumed += static_cast<std::size_t>(data.input_frames_used);
        result.insert(result.end(), out.begin(), out.begin() + data.output_frames_gen);
        if (consumed >= mono.size() && (!input_done_ || data.output_frames_gen == 0)) break;
    }
    if (input_done_) output_done_ = true;
    return result;
}

std::vector<float> mix_to_mono(std::span<const float> interleaved, std::size_t channels, std::size_t frames) {
    frames = std::min(frames, interleaved.size() / channels);
    std::vector<float> mono(frames);
    for (std::size_t frame = 0; frame < frames; ++frame) {
        float sum = 0;
        for (std::size_t channel = 0; channel < channels; ++channel) sum += interleaved[frame * channels + channel];
        mono[frame] = sum / static_cast<float>(channels);
    }
    return mono;
}

std::vector<float> read_audio_mono(const std::filesystem::path& path, int target_rate) {
    AudioFileReader reader(path, target_rate);
    std::vector<float> all;
    while (!reader.done()) {
        auto block = reader.read();
        all.insert(all.end(), block.begin(), block.end());
    }
    return all;
}

}  // namespace kanade::io
