#include "kanade/transcribe/log_mel_spectrogram.hpp"

#include <cmath>
#include <stdexcept>
#include <vector>

namespace kanade::transcribe {
namespace {

// librosa's Slaney mel scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above.
constexpr double linear_hz_per_mel = 200.0 / 3.0;
constexpr double log_start_hz = 1000.0;
constexpr double log_start_mel = log_start_hz / linear_hz_per_mel;

double log_step() { return std::log(6.4) / 27.0; }

double hz_to_mel(double hz) {
    if (hz < log_start_hz) return hz / linear_hz_per_mel;
    return log_start_mel + std::log(hz / log_start_hz) / log_step();
}

double mel_to_hz(double mel) {
    if (mel < log_start_mel) return mel * linear_hz_per_mel;
    return log_start_hz * std::exp(log_step() * (mel - log_start_mel));
}

}  // namespace

torch::Tensor slaney_mel_filters(const LogMelSettings& settings) {
    const int bins = settings.n_fft / 2 + 1;
    const int mels = settings.mel_bins;
    // mels + 2 band edges evenly spaced in mel; filter i rises from edge i to i + 1 and
    // falls to i + 2, scaled to unit area (2 / bandwidth in Hz). Computed in double as
    // librosa does, then stored as float32.
    std::vector<double> edges(mels + 2);
    const double low = hz_to_mel(settings.fmin), high = hz_to_mel(settings.fmax);
    for (int i = 0; i < mels + 2; ++i) edges[i] = mel_to_hz(low + (high - low) * i / (mels + 1));
    auto filters = torch::zeros({bins, mels}, torch::kFloat32);
    auto out = filters.accessor<float, 2>();
    for (int m = 0; m < mels; ++m) {
        const double rise = edges[m + 1] - edges[m], fall = edges[m + 2] - edges[m + 1];
        const double area_norm = 2.0 / (edges[m + 2] - edges[m]);
        for (int k = 0; k < bins; ++k) {
            const double hz = static_cast<double>(settings.sample_rate) * k / settings.n_fft;
            const double lower = (hz - edges[m]) / rise, upper = (edges[m + 2] - hz) / fall;
            const double weight = std::max(0.0, std::min(lower, upper));
            out[k][m] = static_cast<float>(weight * area_norm);
        }
    }
    return filters;
}

LogMelSpectrogram::LogMelSpectrogram(const LogMelSettings& settings, torch::Tensor mel_filters)
    : settings_(settings),
      window_(torch::hann_window(settings.n_fft, torch::TensorOptions().dtype(torch::kFloat32))),  // periodic
      mel_filters_(std::move(mel_filters)) {
    const std::int64_t bins = settings.n_fft / 2 + 1;
    if (mel_filters_.dim() != 2 || mel_filters_.size(0) != bins || mel_filters_.size(1) != settings.mel_bins)
        throw std::invalid_argument("log-mel front end: mel filters of shape " + c10::str(mel_filters_.sizes()) +
                                    ", expected [" + std::to_string(bins) + ", " + std::to_string(settings.mel_bins) +
                                    "]");
    mel_filters_ = mel_filters_.to(torch::kFloat32).contiguous();
}

LogMelSpectrogram::LogMelSpectrogram(const LogMelSettings& settings)
    : LogMelSpectrogram(settings, slaney_mel_filters(settings)) {}

void LogMelSpectrogram::to(torch::Device device) {
    window_ = window_.to(device);
    mel_filters_ = mel_filters_.to(device);
}

torch::Tensor LogMelSpectrogram::operator()(const torch::Tensor& audio) const {
    if (audio.dim() != 2) throw std::invalid_argument("log-mel front end: audio must be [batch, samples]");
    const auto spectrum = torch::stft(audio.to(torch::kFloat32), settings_.n_fft, settings_.hop, settings_.n_fft,
                                      window_, /*center=*/true, "reflect", /*normalized=*/false,
                                      /*onesided=*/true, /*return_complex=*/true);  // [batch, bins, frames]
    const auto power = torch::view_as_real(spectrum).pow(2).sum(-1);
    const auto mel = power.transpose(1, 2).matmul(mel_filters_);  // [batch, frames, mels]
    return (10.0 * torch::log10(torch::clamp_min(mel, 1e-10))).unsqueeze(1);
}

}  // namespace kanade::transcribe
