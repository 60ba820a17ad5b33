#include "kanade/transcribe/basic_pitch_model.hpp"

#include "kanade/transcribe/model_places.hpp"

#include <cmath>
#include <cstdlib>
#include <stdexcept>

namespace kanade::transcribe {

namespace {

const char* const input_name = "input_2";
// Output node names as the reference's OUTPUT_TO_TENSOR_NAME has them.
const char* const frames_name = "Identity_1";
const char* const onsets_name = "Identity_2";
const char* const contours_name = "Identity";
const char* const package_subpath = "node_modules/@spotify/basic-pitch/model/model.json";

}  // namespace

std::vector<std::filesystem::path> basic_pitch_model_candidates(const std::filesystem::path& explicit_path) {
    return model_places(explicit_path, "KANADE_BASIC_PITCH_MODEL",
                        std::filesystem::path("basic-pitch") / package_subpath);
}

std::filesystem::path find_basic_pitch_model(const std::filesystem::path& explicit_path) {
    return first_existing_file(basic_pitch_model_candidates(explicit_path), "basic-pitch: model.json",
                               "install it with tools/setup-debian.sh, or: npm install --prefix "
                               "~/.local/share/kanade/basic-pitch --no-audit --no-fund @spotify/basic-pitch@1.0.1");
}

BasicPitchModel::BasicPitchModel(const std::filesystem::path& model_json) : graph_(TfjsGraphModel::load(model_json)) {
    for (const char* name : {input_name, frames_name, onsets_name, contours_name})
        if (!graph_.has_node(name))
            throw std::runtime_error(model_json.string() + ": not a Basic Pitch model (no node " + name + ")");
}

BasicPitchActivations BasicPitchModel::run_windows(const torch::Tensor& windows) const {
    torch::InferenceMode inference;
    const auto input = windows.to(torch::kFloat32).reshape({-1, basic_pitch::window_samples, 1});
    const auto out = graph_.run({{input_name, input}}, {frames_name, onsets_name, contours_name});
    const std::int64_t batch = input.size(0);
    auto check = [&](const torch::Tensor& t, std::int64_t bins, const char* what) {
        if (t.dim() != 3 || t.size(0) != batch || t.size(1) != basic_pitch::frames_per_window || t.size(2) != bins)
            throw std::runtime_error(std::string("basic-pitch: the model's ") + what + " output has shape " +
                                     c10::str(t.sizes()) + ", expected [" + std::to_string(batch) + ", 172, " +
                                     std::to_string(bins) + "]");
        return t;
    };
    return {check(out[0], basic_pitch::note_bins, "frames"), check(out[1], basic_pitch::note_bins, "onsets"),
            check(out[2], basic_pitch::contour_bins, "contours")};
}

BasicPitchStream::BasicPitchStream(const BasicPitchModel& model, int batch_windows, bool keep_contours)
    : model_(model),
      batch_windows_(std::max(1, batch_windows)),
      keep_contours_(keep_contours),
      buffer_(basic_pitch::lead_in_samples, 0.0f) {}

void BasicPitchStream::push(std::span<const float> mono) {
    samples_ += static_cast<std::int64_t>(mono.size());
    std::size_t used = 0;
    while (used < mono.size()) {
        const std::size_t room = basic_pitch::window_samples - buffer_.size();
        const std::size_t take = std::min(room, mono.size() - used);
        buffer_.insert(buffer_.end(), mono.begin() + used, mono.begin() + used + take);
        used += take;
        if (buffer_.size() == static_cast<std::size_t>(basic_pitch::window_samples)) {
            windows_.push_back(torch::from_blob(buffer_.data(), {basic_pitch::window_samples}).clone());
            buffer_.erase(buffer_.begin(), buffer_.begin() + basic_pitch::hop_samples);
            run_pending_windows(false);
        }
    }
}

void BasicPitchStream::run_pending_windows(bool flush) {
    if (windows_.empty() || (!flush && static_cast<int>(windows_.size()) < batch_windows_)) return;
    const auto out = model_.run_windows(torch::stack(windows_));
    windows_.clear();
    const auto keep = [](const torch::Tensor& t) {
        return t.slice(1, basic_pitch::edge_frames, basic_pitch::frames_per_window - basic_pitch::edge_frames)
            .reshape({-1, t.size(2)});
    };
    frames_.push_back(keep(out.frames));
    onsets_.push_back(keep(out.onsets));
    if (keep_contours_) contours_.push_back(keep(out.contours));
}

BasicPitchActivations BasicPitchStream::finish() {
    // tf.signal.frame with padEnd: every window that starts inside the padded signal;
    // the buffer starts at the next window, which starts inside unless only the already
    // covered overlap is left.
    const std::int64_t padded = basic_pitch::lead_in_samples + samples_;
    const std::int64_t full_windows = padded >= basic_pitch::window_samples
                                          ? (padded - basic_pitch::window_samples) / basic_pitch::hop_samples + 1
                                          : 0;
    std::int64_t next_start = full_windows * basic_pitch::hop_samples;
    while (next_start < padded) {
        std::vector<float> window(basic_pitch::window_samples, 0.0f);
        const std::int64_t offset = next_start - full_windows * basic_pitch::hop_samples;
        for (std::int64_t i = 0;
             offset + i < static_cast<std::int64_t>(buffer_.size()) && i < basic_pitch::window_samples; ++i)
            window[i] = buffer_[offset + i];
        windows_.push_back(torch::from_blob(window.data(), {basic_pitch::window_samples}).clone());
        next_start += basic_pitch::hop_samples;
    }
    run_pending_windows(true);
    const auto wanted = static_cast<std::int64_t>(
        std::floor(static_cast<double>(samples_) *
                   (static_cast<double>(basic_pitch::frames_per_second) / basic_pitch::sample_rate)));
    auto join = [&](std::vector<torch::Tensor>& parts, std::int64_t bins) {
        // Copy the kept rows out so that the window outputs behind them are freed.
        auto all = parts.empty() ? torch::zeros({0, bins}) : torch::cat(parts);
        parts.clear();
        return all.slice(0, 0, std::min<std::int64_t>(wanted, all.size(0))).clone();
    };
    BasicPitchActivations result{join(frames_, basic_pitch::note_bins), join(onsets_, basic_pitch::note_bins),
                                 join(contours_, basic_pitch::contour_bins)};
    buffer_.assign(basic_pitch::lead_in_samples, 0.0f);
    samples_ = 0;
    return result;
}

BasicPitchActivations basic_pitch_activations(const BasicPitchModel& model, std::span<const float> mono) {
    BasicPitchStream stream(model);
    stream.push(mono);
    return stream.finish();
}

}  // namespace kanade::transcribe
