#include "kanade/transcribe/piano_crnn_model.hpp"

#include "kanade/transcribe/model_places.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <stdexcept>

namespace kanade::transcribe {

const char* const piano_crnn_conversion_command =
    "python3 -c \"import sys,torch; m=torch.load(sys.argv[1],map_location='cpu')['model']; "
    "torch.save({p+'.'+k: v for p in m for k,v in m[p].items()}, sys.argv[2])\" "
    "'CRNN_note_F1=0.9677_pedal_F1=0.9186.pth' piano-crnn.pt";

namespace {

constexpr int mel_bins = 229;
constexpr int acoustic_features = 128 * 14;  // channels x mel bins left after 4 poolings

torch::nn::GRU bidirectional_gru(int input, int layers) {
    return torch::nn::GRU(torch::nn::GRUOptions(input, 256).num_layers(layers).batch_first(true).bidirectional(true));
}

// The input BatchNorm normalises each mel bin: [batch, 1, frames, mels] is seen as
// [batch, mels, frames, 1], as the reference's transpose(1, 3) does.
torch::Tensor normalise_mel_bins(torch::nn::BatchNorm2d& bn0, const torch::Tensor& log_mel) {
    return bn0(log_mel.transpose(1, 3)).transpose(1, 3);
}

// The front end's own weights in a checkpoint (torchlibrosa keeps its STFT basis and mel
// matrix as frozen parameters): known, not needed (kanade computes the same), allowed.
bool is_front_end_key(const std::string& key) {
    for (const char* suffix : {"spectrogram_extractor.stft.conv_real.weight",
                               "spectrogram_extractor.stft.conv_imag.weight", "logmel_extractor.melW"})
        if (key.size() >= std::char_traits<char>::length(suffix) &&
            key.compare(key.size() - std::char_traits<char>::length(suffix), std::string::npos, suffix) == 0)
            return true;
    return false;
}

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

// Nested dicts of tensors -> "a.b.c" -> tensor; anything that is not a tensor (an
// iteration count, a sampler's state) is left out.
void flatten_state(const c10::IValue& value, const std::string& prefix, std::map<std::string, torch::Tensor>& out) {
    if (value.isTensor()) {
        out[prefix] = value.toTensor();
    } else if (value.isGenericDict()) {
        for (const auto& entry : value.toGenericDict()) {
            if (!entry.key().isString()) continue;
            std::string key = entry.key().toStringRef();
            if (key == "module" || key == "model") key.clear();  // DataParallel's / the training script's wrapper
            const std::string name = prefix.empty() ? key : key.empty() ? prefix : prefix + "." + key;
            flatten_state(entry.value(), name, out);
        }
    }
}

std::map<std::string, torch::Tensor> read_checkpoint(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(path.string() + ": cannot open the piano-crnn checkpoint");
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    c10::IValue root;
    try {
        root = torch::pickle_load(bytes);
    } catch (const std::exception& error) {
        std::string reason = error.what();
        reason = reason.substr(0, reason.find('\n'));
        throw std::runtime_error(path.string() + ": not a checkpoint kanade can read (" + reason +
                                 "). The published checkpoint is in PyTorch's own format; convert it once with:\n  " +
                                 piano_crnn_conversion_command);
    }
    std::map<std::string, torch::Tensor> state;
    flatten_state(root, "", state);
    // Keys written with "module." (DataParallel) inside a name.
    std::map<std::string, torch::Tensor> cleaned;
    for (auto& [key, tensor] : state) {
        std::string name = key;
        for (std::size_t at; (at = name.find("module.")) != std::string::npos && (at == 0 || name[at - 1] == '.');)
            name.erase(at, 7);
        cleaned[name] = tensor;
    }
    // A note-only checkpoint (Regress_onset_offset_frame_velocity_CRNN) has no prefix.
    const bool has_prefix = std::any_of(cleaned.begin(), cleaned.end(), [](const auto& entry) {
        return starts_with(entry.first, "note_model.") || starts_with(entry.first, "pedal_model.");
    });
    if (has_prefix) return cleaned;
    std::map<std::string, torch::Tensor> prefixed;
    for (auto& [key, tensor] : cleaned) prefixed["note_model." + key] = tensor;
    return prefixed;
}

std::string shape_text(c10::IntArrayRef sizes) { return c10::str(sizes); }

std::string list_text(const std::vector<std::string>& names) {
    std::string text;
    const std::size_t shown = std::min<std::size_t>(names.size(), 6);
    for (std::size_t i = 0; i < shown; ++i) text += (i ? ", " : "") + names[i];
    if (names.size() > shown) text += " and " + std::to_string(names.size() - shown) + " more";
    return text;
}

template <typename Visit>
void for_each_weight(const torch::nn::Module& module, const std::string& prefix, Visit visit) {
    for (const auto& entry : module.named_parameters()) visit(prefix + entry.key(), entry.value());
    for (const auto& entry : module.named_buffers()) visit(prefix + entry.key(), entry.value());
}

}  // namespace

ConvBlockImpl::ConvBlockImpl(int in_channels, int out_channels) {
    auto conv = [](int in, int out) {
        return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(1).padding(1).bias(false));
    };
    conv1_ = register_module("conv1", conv(in_channels, out_channels));
    conv2_ = register_module("conv2", conv(out_channels, out_channels));
    bn1_ = register_module("bn1", torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(out_channels).eps(0.01)));
    bn2_ = register_module("bn2", torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(out_channels).eps(0.01)));
}

torch::Tensor ConvBlockImpl::forward(const torch::Tensor& x) {
    auto y = torch::relu(bn1_(conv1_(x)));
    y = torch::relu(bn2_(conv2_(y)));
    return torch::avg_pool2d(y, {1, 2});
}

AcousticModelImpl::AcousticModelImpl(int classes) {
    block1_ = register_module("conv_block1", ConvBlock(1, 48));
    block2_ = register_module("conv_block2", ConvBlock(48, 64));
    block3_ = register_module("conv_block3", ConvBlock(64, 96));
    block4_ = register_module("conv_block4", ConvBlock(96, 128));
    fc5_ = register_module("fc5", torch::nn::Linear(torch::nn::LinearOptions(acoustic_features, 768).bias(false)));
    bn5_ = register_module("bn5", torch::nn::BatchNorm1d(768));
    gru_ = register_module("gru", bidirectional_gru(768, 2));
    fc_ = register_module("fc", torch::nn::Linear(512, classes));
}

torch::Tensor AcousticModelImpl::forward(const torch::Tensor& log_mel) {
    auto x = block4_(block3_(block2_(block1_(log_mel))));  // [batch, 128, frames, 14]
    x = x.transpose(1, 2).flatten(2);                      // [batch, frames, 128 * 14]
    const auto batch = x.size(0), frames = x.size(1);
    x = torch::relu(bn5_(fc5_(x).reshape({batch * frames, 768}))).reshape({batch, frames, 768});
    x = std::get<0>(gru_(x));
    return torch::sigmoid(fc_(x));
}

PianoNoteModelImpl::PianoNoteModelImpl() {
    const int classes = piano_crnn::pitches;
    bn0_ = register_module("bn0", torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(mel_bins).eps(0.01)));
    frame_model_ = register_module("frame_model", AcousticModel(classes));
    reg_onset_model_ = register_module("reg_onset_model", AcousticModel(classes));
    reg_offset_model_ = register_module("reg_offset_model", AcousticModel(classes));
    velocity_model_ = register_module("velocity_model", AcousticModel(classes));
    reg_onset_gru_ = register_module("reg_onset_gru", bidirectional_gru(classes * 2, 1));
    reg_onset_fc_ = register_module("reg_onset_fc", torch::nn::Linear(512, classes));
    frame_gru_ = register_module("frame_gru", bidirectional_gru(classes * 3, 1));
    frame_fc_ = register_module("frame_fc", torch::nn::Linear(512, classes));
}

void PianoNoteModelImpl::forward(const torch::Tensor& log_mel, PianoCrnnFrameOutputs& out) {
    const auto x = normalise_mel_bins(bn0_, log_mel);
    const auto frame = frame_model_(x);
    const auto onset = reg_onset_model_(x);
    out.reg_offset = reg_offset_model_(x);
    out.velocity = velocity_model_(x);
    // Velocity sharpens the onset regression; onsets and offsets condition the frames.
    auto refined = std::get<0>(reg_onset_gru_(torch::cat({onset, onset.sqrt() * out.velocity}, 2)));
    out.reg_onset = torch::sigmoid(reg_onset_fc_(refined));
    refined = std::get<0>(frame_gru_(torch::cat({frame, out.reg_onset, out.reg_offset}, 2)));
    out.frame = torch::sigmoid(frame_fc_(refined));
}

PianoPedalModelImpl::PianoPedalModelImpl() {
    bn0_ = register_module("bn0", torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(mel_bins).eps(0.01)));
    reg_pedal_onset_model_ = register_module("reg_pedal_onset_model", AcousticModel(1));
    reg_pedal_offset_model_ = register_module("reg_pedal_offset_model", AcousticModel(1));
    reg_pedal_frame_model_ = register_module("reg_pedal_frame_model", AcousticModel(1));
}

void PianoPedalModelImpl::forward(const torch::Tensor& log_mel, PianoCrnnFrameOutputs& out) {
    const auto x = normalise_mel_bins(bn0_, log_mel);
    out.pedal_onset = reg_pedal_onset_model_(x);
    out.pedal_offset = reg_pedal_offset_model_(x);
    out.pedal_frame = reg_pedal_frame_model_(x);
}

PianoCrnnModel::PianoCrnnModel(bool with_pedal) {
    if (with_pedal) pedal_model_ = PianoPedalModel();
    note_model_->eval();
    if (pedal_model_) pedal_model_->eval();
}

std::vector<std::pair<std::string, std::vector<std::int64_t>>> PianoCrnnModel::expected_keys() const {
    std::vector<std::pair<std::string, std::vector<std::int64_t>>> keys;
    for (const auto& [name, tensor] : state()) keys.emplace_back(name, tensor.sizes().vec());
    return keys;
}

std::vector<std::pair<std::string, torch::Tensor>> PianoCrnnModel::state() const {
    std::vector<std::pair<std::string, torch::Tensor>> weights;
    auto add = [&](const std::string& name, const torch::Tensor& tensor) { weights.emplace_back(name, tensor); };
    for_each_weight(*note_model_, "note_model.", add);
    if (pedal_model_) for_each_weight(*pedal_model_, "pedal_model.", add);
    return weights;
}

PianoCrnnModel PianoCrnnModel::load(const std::filesystem::path& checkpoint) {
    auto state = read_checkpoint(checkpoint);
    const bool with_pedal = std::any_of(state.begin(), state.end(),
                                        [](const auto& entry) { return starts_with(entry.first, "pedal_model."); });
    PianoCrnnModel model(with_pedal);
    std::vector<std::string> missing, wrong_shape, unknown;
    std::set<std::string> used;
    torch::NoGradGuard no_grad;
    for (auto& [name, target] : model.state()) {
        auto found = state.find(name);
        if (found == state.end()) {
            missing.push_back(name);
            continue;
        }
        used.insert(name);
        const auto& source = found->second;
        if (source.sizes() != target.sizes()) {
            wrong_shape.push_back(name + " " + shape_text(source.sizes()) + " (expected " + shape_text(target.sizes()) +
                                  ")");
            continue;
        }
        target.copy_(source.to(target.dtype()));
    }
    for (const auto& [name, tensor] : state)
        if (!used.count(name) && !is_front_end_key(name)) unknown.push_back(name);
    std::string problems;
    if (!missing.empty()) problems += "\n  missing: " + list_text(missing);
    if (!wrong_shape.empty()) problems += "\n  wrong shape: " + list_text(wrong_shape);
    if (!unknown.empty()) problems += "\n  unknown: " + list_text(unknown);
    if (!problems.empty())
        throw std::runtime_error(checkpoint.string() + ": not Kong et al.'s piano transcription checkpoint (" +
                                 std::to_string(state.size()) + " tensors read):" + problems);
    // The checkpoint's own mel matrix, when it carries one, is what the network was
    // trained on; kanade's equals librosa's to float precision, this removes the doubt.
    if (auto mel = state.find("note_model.logmel_extractor.melW");
        mel != state.end() && mel->second.dim() == 2 && mel->second.size(0) == 1025 && mel->second.size(1) == mel_bins)
        model.front_end_ = LogMelSpectrogram(LogMelSettings{}, mel->second);
    return model;
}

void PianoCrnnModel::to(torch::Device device) {
    device_ = device;
    front_end_.to(device);
    note_model_->to(device);
    if (pedal_model_) pedal_model_->to(device);
}

PianoCrnnFrameOutputs PianoCrnnModel::forward(const torch::Tensor& audio) {
    torch::InferenceMode inference;
    const auto log_mel = front_end_(audio.to(device_));
    PianoCrnnFrameOutputs out;
    note_model_->forward(log_mel, out);
    if (pedal_model_) pedal_model_->forward(log_mel, out);
    return out;
}

std::vector<std::filesystem::path> piano_crnn_model_candidates(const std::filesystem::path& explicit_path) {
    return model_places(explicit_path, "KANADE_PIANO_CRNN_MODEL", "piano-crnn/piano-crnn.pt");
}

std::filesystem::path find_piano_crnn_model(const std::filesystem::path& explicit_path) {
    return first_existing_file(
        piano_crnn_model_candidates(explicit_path), "piano-crnn: checkpoint",
        "its weights are not redistributable: download CRNN_note_F1=0.9677_pedal_F1=0.9186.pth from "
        "https://zenodo.org/record/4034264, convert it once with\n  " +
            std::string(piano_crnn_conversion_command) +
            "\nand put piano-crnn.pt in ~/.local/share/kanade/piano-crnn/ (or pass --model)");
}

}  // namespace kanade::transcribe
