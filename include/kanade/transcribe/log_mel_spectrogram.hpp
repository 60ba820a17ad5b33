// The log-mel front end of Kong et al.'s piano transcription (torchlibrosa's
// Spectrogram + LogmelFilterBank as the model was trained with): periodic Hann window,
// centred frames with reflect padding, power spectrum, librosa's Slaney mel filters,
// 10 log10(max(mel, 1e-10)).
#pragma once

#include <torch/torch.h>

namespace kanade::transcribe {

struct LogMelSettings {
    int sample_rate = 16000;
    int n_fft = 2048;
    int hop = 160;  // 100 frames per second
    int mel_bins = 229;
    double fmin = 30.0;
    double fmax = 8000.0;
};

// librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax) with its defaults (Slaney mel
// scale, Slaney area normalisation), transposed: [n_fft / 2 + 1, n_mels], float32.
torch::Tensor slaney_mel_filters(const LogMelSettings& settings);

class LogMelSpectrogram {
public:
    // mel_filters: [n_fft / 2 + 1, mel_bins]; a checkpoint's own filters when it has them.
    LogMelSpectrogram(const LogMelSettings& settings, torch::Tensor mel_filters);
    explicit LogMelSpectrogram(const LogMelSettings& settings = {});

    // audio [batch, samples] -> [batch, 1, 1 + samples / hop, mel_bins]
    torch::Tensor operator()(const torch::Tensor& audio) const;

    const LogMelSettings& settings() const { return settings_; }
    const torch::Tensor& mel_filters() const { return mel_filters_; }
    void to(torch::Device device);

private:
    LogMelSettings settings_;
    torch::Tensor window_;
    torch::Tensor mel_filters_;
};

}  // namespace kanade::transcribe
