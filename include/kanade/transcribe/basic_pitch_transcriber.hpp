// The "basic-pitch" transcription backend: Spotify's Basic Pitch network run window by
// window as audio is pushed, then the reference's note decoding on the whole activation
// matrices at finish().
#pragma once

#include "kanade/transcribe/basic_pitch_model.hpp"
#include "kanade/transcribe/note_decoding.hpp"
#include "kanade/transcribe/transcriber.hpp"

#include <memory>

namespace kanade::transcribe {

class BasicPitchTranscriber : public Transcriber {
public:
    explicit BasicPitchTranscriber(const TranscriberOptions& options);

    int sample_rate() const override { return basic_pitch::sample_rate; }
    void push(std::span<const float> mono) override;
    std::vector<midi::Note> finish() override;

    // The activations of the last finish() (contours only with options.pitch_bends).
    const BasicPitchActivations& activations() const { return activations_; }
    // The notes of the last finish() in model frames, with per-frame pitch bends (in
    // 1/3 semitones) when options.pitch_bends asked for them.
    const std::vector<NoteEvent>& note_events() const { return events_; }

private:
    std::unique_ptr<BasicPitchModel> model_;
    std::unique_ptr<BasicPitchStream> stream_;
    NoteDecodingOptions decoding_;
    bool pitch_bends_ = false;
    std::vector<NoteEvent> events_;
    BasicPitchActivations activations_;
};

// The reference's conversion of a minimum note length in ms to frames.
int min_note_frames(double min_note_ms);

}  // namespace kanade::transcribe
