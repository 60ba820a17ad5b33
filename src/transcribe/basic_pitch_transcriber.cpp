#include "kanade/transcribe/basic_pitch_transcriber.hpp"

#include <cmath>

namespace kanade::transcribe {

int min_note_frames(double min_note_ms) {
    // basic_pitch's inference.py: int(np.round(ms / 1000 * (22050 / 256)))
    return static_cast<int>(std::nearbyint(min_note_ms / 1000.0 * (22050.0 / 256.0)));
}

BasicPitchTranscriber::BasicPitchTranscriber(const TranscriberOptions& options)
    : model_(std::make_unique<BasicPitchModel>(find_basic_pitch_model(options.model_path))) {
    if (options.device == "cuda") throw std::runtime_error("basic-pitch: runs on the CPU only (device \"cuda\" asked)");
    if (options.threads > 0) torch::set_num_threads(options.threads);
    pitch_bends_ = options.pitch_bends;
    stream_ = std::make_unique<BasicPitchStream>(*model_, 4, /*keep_contours=*/pitch_bends_);
    decoding_.onset_threshold = options.onset_threshold.value_or(0.5);
    decoding_.frame_threshold = options.frame_threshold.value_or(0.3);
    decoding_.min_note_frames = min_note_frames(options.min_note_ms);
    decoding_.melodia_trick = options.melodia_trick;
}

void BasicPitchTranscriber::push(std::span<const float> mono) { stream_->push(mono); }

std::vector<midi::Note> BasicPitchTranscriber::finish() {
    activations_ = stream_->finish();
    events_ = output_to_notes_poly(activations_.frames, activations_.onsets, decoding_);
    if (pitch_bends_) add_pitch_bends(activations_.contours, events_);
    return note_events_to_notes(events_);
}

}  // namespace kanade::transcribe
