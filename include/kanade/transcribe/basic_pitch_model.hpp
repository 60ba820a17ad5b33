// Spotify's Basic Pitch network (npm @spotify/basic-pitch, Apache-2.0) run from its
// model.json with the TF.js graph interpreter, and the reference's windowing: audio at
// 22,050 Hz cut into overlapping 2 s windows whose frame activations are stitched back.
#pragma once

#include "kanade/transcribe/tfjs_graph_model.hpp"

#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace kanade::transcribe {

namespace basic_pitch {
inline constexpr int sample_rate = 22050;
inline constexpr int fft_hop = 256;
inline constexpr int frames_per_second = sample_rate / fft_hop;   // 86, as the reference floors it
inline constexpr int window_samples = 2 * sample_rate - fft_hop;  // 43,844
inline constexpr int overlap_frames = 30;
inline constexpr int edge_frames = overlap_frames / 2;                         // dropped at each window edge
inline constexpr int lead_in_samples = overlap_frames * fft_hop / 2;           // 3,840 zeros prepended
inline constexpr int hop_samples = window_samples - overlap_frames * fft_hop;  // 36,164
inline constexpr int frames_per_window = 172;
inline constexpr int kept_frames_per_window = frames_per_window - overlap_frames;  // 142
inline constexpr int note_bins = 88;
inline constexpr int contour_bins = 264;
}  // namespace basic_pitch

// Activations per frame (rows) in [0, 1]: frames [T, 88], onsets [T, 88], contours [T, 264].
struct BasicPitchActivations {
    torch::Tensor frames;
    torch::Tensor onsets;
    torch::Tensor contours;
};

// The places model.json is looked for, in order: explicit, $KANADE_BASIC_PITCH_MODEL,
// $HOME/.local/share/kanade/basic-pitch/..., /usr/local/share/kanade/basic-pitch/...
std::vector<std::filesystem::path> basic_pitch_model_candidates(const std::filesystem::path& explicit_path);
// The first candidate that exists; std::runtime_error listing the places tried and the
// command that installs the model otherwise.
std::filesystem::path find_basic_pitch_model(const std::filesystem::path& explicit_path);

class BasicPitchModel {
public:
    // Throws std::runtime_error when the file is malformed or is not Basic Pitch.
    explicit BasicPitchModel(const std::filesystem::path& model_json);

    // windows: [B, 43844] float32 -> activations [B, 172, bins] each (no edge trimming).
    BasicPitchActivations run_windows(const torch::Tensor& windows) const;

private:
    TfjsGraphModel graph_;
};

// Cuts a stream of audio into the reference's windows (3,840 zeros first, hop 36,164,
// the last windows zero-padded) and stitches the activations (15 frames dropped at each
// window edge, trimmed to the input's length); keeps only the samples of the windows to
// come, so any length streams through bounded memory for the audio.
class BasicPitchStream {
public:
    // keep_contours: false leaves finish()'s contours empty (they are 60% of the
    // activations and only pitch bends need them).
    explicit BasicPitchStream(const BasicPitchModel& model, int batch_windows = 4, bool keep_contours = true);
    void push(std::span<const float> mono);
    BasicPitchActivations finish();

private:
    void run_pending_windows(bool flush);

    const BasicPitchModel& model_;
    int batch_windows_;
    bool keep_contours_;
    std::vector<float> buffer_;  // the padded signal from the next window's start
    std::vector<torch::Tensor> windows_;
    std::int64_t samples_ = 0;
    std::vector<torch::Tensor> frames_, onsets_, contours_;
};

// The whole reference pipeline on a buffer: the activations evaluateModel gives.
BasicPitchActivations basic_pitch_activations(const BasicPitchModel& model, std::span<const float> mono);

}  // namespace kanade::transcribe
