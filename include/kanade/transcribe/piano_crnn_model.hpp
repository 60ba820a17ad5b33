// Kong et al.'s high-resolution piano transcription network (ByteDance, 2021), in
// libtorch, named parameter for parameter as the published checkpoint
// (note_F1=0.9677_pedal_F1=0.9186): a note model of four CRNN acoustic models (frame,
// onset regression, offset regression, velocity) plus two conditioning GRUs, and an
// optional pedal model of three more. Eval mode only: dropout is off, BatchNorm uses
// its running statistics.
#pragma once

#include "kanade/transcribe/log_mel_spectrogram.hpp"

#include <torch/torch.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace kanade::transcribe {

namespace piano_crnn {
inline constexpr int sample_rate = 16000;
inline constexpr int frames_per_second = 100;
inline constexpr int pitches = 88;  // A0 (21) .. C8 (108)
inline constexpr int lowest_pitch = 21;
}  // namespace piano_crnn

// Two 3x3 convolutions (no bias), each with BatchNorm and ReLU, then average pooling of
// the frequency axis by 2. Note: the reference passes its "momentum" 0.01 as
// BatchNorm2d's second argument, which is eps; the checkpoint was trained so.
class ConvBlockImpl : public torch::nn::Module {
public:
    ConvBlockImpl(int in_channels, int out_channels);
    torch::Tensor forward(const torch::Tensor& x);

private:
    torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
    torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
};
TORCH_MODULE(ConvBlock);

// [batch, 1, frames, 229 mel] -> [batch, frames, classes] in (0, 1): four conv blocks
// (48, 64, 96, 128 channels; 229 -> 14 bins), fc 1792 -> 768 with BatchNorm (eps 1e-5
// here, the default) and ReLU, a 2-layer bidirectional GRU of 256, fc, sigmoid.
class AcousticModelImpl : public torch::nn::Module {
public:
    explicit AcousticModelImpl(int classes);
    torch::Tensor forward(const torch::Tensor& log_mel);

private:
    ConvBlock block1_{nullptr}, block2_{nullptr}, block3_{nullptr}, block4_{nullptr};
    torch::nn::Linear fc5_{nullptr};
    torch::nn::BatchNorm1d bn5_{nullptr};
    torch::nn::GRU gru_{nullptr};
    torch::nn::Linear fc_{nullptr};
};
TORCH_MODULE(AcousticModel);

// Per-frame outputs, each [batch, frames, 88] (pedal ones [batch, frames, 1]).
struct PianoCrnnFrameOutputs {
    torch::Tensor reg_onset, reg_offset, frame, velocity;
    torch::Tensor pedal_onset, pedal_offset, pedal_frame;  // undefined without a pedal model
};

// The note model: its input BatchNorm over mel bins (bn0), four acoustic models; the onset
// regression is refined by a GRU that also sees sqrt(onset) * velocity, the frame output
// by a GRU that sees frame, onset and offset.
class PianoNoteModelImpl : public torch::nn::Module {
public:
    PianoNoteModelImpl();
    void forward(const torch::Tensor& log_mel, PianoCrnnFrameOutputs& out);

private:
    torch::nn::BatchNorm2d bn0_{nullptr};
    AcousticModel frame_model_{nullptr}, reg_onset_model_{nullptr}, reg_offset_model_{nullptr},
        velocity_model_{nullptr};
    torch::nn::GRU reg_onset_gru_{nullptr}, frame_gru_{nullptr};
    torch::nn::Linear reg_onset_fc_{nullptr}, frame_fc_{nullptr};
};
TORCH_MODULE(PianoNoteModel);

// The sustain pedal model: bn0 and three one-class acoustic models.
class PianoPedalModelImpl : public torch::nn::Module {
public:
    PianoPedalModelImpl();
    void forward(const torch::Tensor& log_mel, PianoCrnnFrameOutputs& out);

private:
    torch::nn::BatchNorm2d bn0_{nullptr};
    AcousticModel reg_pedal_onset_model_{nullptr}, reg_pedal_offset_model_{nullptr}, reg_pedal_frame_model_{nullptr};
};
TORCH_MODULE(PianoPedalModel);

class PianoCrnnModel {
public:
    // Random weights (libtorch's default initialisation): for tests and benchmarks.
    explicit PianoCrnnModel(bool with_pedal = true);

    // Loads a checkpoint: a torch.save'd dict of tensors, flat ("note_model.bn0.weight",
    // ...) or nested ({"model": {"note_model": {...}, "pedal_model": {...}}}); a note-only
    // checkpoint (keys without "note_model.") is accepted and runs without pedal. Every
    // parameter and BatchNorm statistic must be present with its exact shape; unknown keys
    // are refused. Throws std::runtime_error naming the file and the keys.
    static PianoCrnnModel load(const std::filesystem::path& checkpoint);

    // The names and shapes this model expects, in the flat form.
    std::vector<std::pair<std::string, std::vector<std::int64_t>>> expected_keys() const;
    // The flat name -> tensor map of its weights (what load() reads back), e.g. for tests.
    std::vector<std::pair<std::string, torch::Tensor>> state() const;

    bool has_pedal() const { return static_cast<bool>(pedal_model_); }
    void to(torch::Device device);
    torch::Device device() const { return device_; }

    // audio [batch, samples] at 16 kHz -> per-frame outputs, 1 + samples / 160 frames.
    PianoCrnnFrameOutputs forward(const torch::Tensor& audio);

private:
    LogMelSpectrogram front_end_;
    PianoNoteModel note_model_;
    PianoPedalModel pedal_model_{nullptr};
    torch::Device device_ = torch::kCPU;
};

// Where the checkpoint is looked for when none is named: $KANADE_PIANO_CRNN_MODEL,
// ~/.local/share/kanade/piano-crnn/piano-crnn.pt, /usr/local/share/kanade/piano-crnn/piano-crnn.pt.
std::vector<std::filesystem::path> piano_crnn_model_candidates(const std::filesystem::path& explicit_path);
// The first that exists; throws std::runtime_error listing the places tried and how to get
// the checkpoint.
std::filesystem::path find_piano_crnn_model(const std::filesystem::path& explicit_path);

// The one-line conversion of the published checkpoint (PyTorch's own pickle, which
// libtorch 1.13 cannot read) into the flat file kanade loads, as the README gives it.
extern const char* const piano_crnn_conversion_command;

}  // namespace kanade::transcribe
