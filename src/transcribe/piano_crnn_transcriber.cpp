#include "kanade/transcribe/piano_crnn_transcriber.hpp"

#include "kanade/model/device.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace kanade::transcribe {
namespace {

// A segment's frames in quarters: the reference keeps the middle two of each.
constexpr std::int64_t quarter = piano_crnn::segment_frames / 4;

void append_rows(std::vector<float>& into, const torch::Tensor& rows) {
    const auto contiguous = rows.to(torch::kCPU, torch::kFloat32).contiguous();
    into.insert(into.end(), contiguous.data_ptr<float>(), contiguous.data_ptr<float>() + contiguous.numel());
}

}  // namespace

PianoCrnnStream::PianoCrnnStream(PianoCrnnSegmentRunner run) : run_(std::move(run)) {}

void PianoCrnnStream::push(std::span<const float> mono) {
    buffer_.insert(buffer_.end(), mono.begin(), mono.end());
    samples_ += static_cast<std::int64_t>(mono.size());
    while (buffer_.size() >= static_cast<std::size_t>(piano_crnn::segment_samples)) run_segment();
}

void PianoCrnnStream::append(const PianoCrnnFrameOutputs& segment, std::int64_t begin, std::int64_t end) {
    auto rows = [&](const torch::Tensor& t) { return t[0].slice(0, begin, end); };
    append_rows(out_.reg_onset, rows(segment.reg_onset));
    append_rows(out_.reg_offset, rows(segment.reg_offset));
    append_rows(out_.frame, rows(segment.frame));
    append_rows(out_.velocity, rows(segment.velocity));
    if (segment.pedal_frame.defined()) {
        append_rows(out_.pedal_onset, rows(segment.pedal_onset));
        append_rows(out_.pedal_offset, rows(segment.pedal_offset));
        append_rows(out_.pedal_frame, rows(segment.pedal_frame));
    }
    out_.frames += static_cast<int>(end - begin);
}

void PianoCrnnStream::run_segment() {
    const auto audio = torch::from_blob(buffer_.data(), {1, piano_crnn::segment_samples}, torch::kFloat32).clone();
    auto outputs = run_(audio);
    // The segment before this one is now known not to be the last: it gives its first
    // three quarters if it was the first, its middle half otherwise.
    if (segments_run_ > 0) append(last_, segments_run_ == 1 ? 0 : quarter, 3 * quarter);
    last_ = std::move(outputs);
    ++segments_run_;
    buffer_.erase(buffer_.begin(), buffer_.begin() + piano_crnn::segment_hop);
}

PianoCrnnOutputs PianoCrnnStream::finish() {
    if (samples_ > 0) {
        // The reference pads the recording with zeros to a whole number of segments.
        const std::int64_t segment = piano_crnn::segment_samples;
        const std::int64_t padded = (samples_ + segment - 1) / segment * segment;
        const std::int64_t next_start = static_cast<std::int64_t>(segments_run_) * piano_crnn::segment_hop;
        buffer_.resize(static_cast<std::size_t>(std::max<std::int64_t>(padded - next_start, 0)), 0.0f);
        while (buffer_.size() >= static_cast<std::size_t>(segment)) run_segment();
        // One segment: all its frames (the centred STFT's extra one included), as the
        // reference's deframe() leaves a single segment whole.
        if (segments_run_ == 1)
            append(last_, 0, last_.frame.size(1));
        else
            append(last_, quarter, piano_crnn::segment_frames);
    }
    PianoCrnnOutputs result = std::move(out_);
    out_ = {};
    buffer_.clear();
    samples_ = 0;
    segments_run_ = 0;
    last_ = {};
    return result;
}

PianoCrnnTranscriber::PianoCrnnTranscriber(const TranscriberOptions& options) {
    const auto path = find_piano_crnn_model(options.model_path);
    model_ = std::make_shared<PianoCrnnModel>(PianoCrnnModel::load(path));
    model::set_cpu_threads(options.threads);
    const auto device = model::choose_device(options.device);
    if (options.device == "auto" && device.device.is_cpu())
        std::fprintf(stderr, "kanade: piano-crnn: %s\n", device.reason.c_str());
    model_->to(device.device);
    decoding_.onset_threshold = options.onset_threshold.value_or(decoding_.onset_threshold);
    decoding_.frame_threshold = options.frame_threshold.value_or(decoding_.frame_threshold);
    stream_ = make_stream();
}

PianoCrnnTranscriber::PianoCrnnTranscriber(std::shared_ptr<PianoCrnnModel> model,
                                           const PianoCrnnDecodingOptions& decoding)
    : model_(std::move(model)), stream_(make_stream()), decoding_(decoding) {}

std::unique_ptr<PianoCrnnStream> PianoCrnnTranscriber::make_stream() {
    return std::make_unique<PianoCrnnStream>(
        [model = model_](const torch::Tensor& audio) { return model->forward(audio); });
}

void PianoCrnnTranscriber::push(std::span<const float> mono) { stream_->push(mono); }

std::vector<midi::Note> PianoCrnnTranscriber::finish() {
    outputs_ = stream_->finish();
    const auto decoded = decode_piano_crnn(outputs_, decoding_);
    std::vector<midi::Note> notes;
    notes.reserve(decoded.notes.size());
    for (const auto& event : decoded.notes) {
        // The reference gives a flat-topped onset peak (equal neighbours) a 0/0 shift: a
        // note with no time, which no MIDI file can hold.
        if (!std::isfinite(event.onset_seconds) || !std::isfinite(event.offset_seconds)) continue;
        midi::Note note;
        note.start_seconds = event.onset_seconds;
        note.end_seconds = std::max(event.offset_seconds, event.onset_seconds);
        note.start_beat = note.start_seconds * 2.0;  // 120 BPM
        note.end_beat = note.end_seconds * 2.0;
        note.pitch = static_cast<std::uint8_t>(std::clamp(event.pitch, 0, 127));
        note.velocity = static_cast<std::uint8_t>(std::clamp(event.velocity, 1, 127));
        notes.push_back(note);
    }
    std::stable_sort(notes.begin(), notes.end(), [](const midi::Note& a, const midi::Note& b) {
        return a.start_seconds != b.start_seconds ? a.start_seconds < b.start_seconds : a.pitch < b.pitch;
    });
    pedal_.clear();
    for (const auto& pedal : decoded.pedals) pedal_.push_back({pedal.onset_seconds, pedal.offset_seconds});
    return notes;
}

}  // namespace kanade::transcribe
