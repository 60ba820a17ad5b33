// A transcription backend: mono audio in at the backend's own sample rate, notes out.
// Audio is pushed in chunks of any size, so a recording of an hour streams through
// bounded memory (a backend keeps only the window it is working on); finish() flushes
// the last window and returns every note, sorted by start.
#pragma once

#include "kanade/midi/note.hpp"

#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace kanade::transcribe {

struct TranscriberOptions {
    std::string backend = "basic-pitch";  // "basic-pitch" | "piano-crnn"
    // Where the backend's weights are; empty: the backend's default place.
    std::filesystem::path model_path;
    std::string device = "cpu";  // "cpu" | "cuda" | "auto"
    int threads = 0;             // intra-op threads; 0: libtorch's default
    // Note decoding; unset: each backend's reference value (basic-pitch 0.5 / 0.3,
    // piano-crnn 0.3 / 0.1).
    std::optional<double> onset_threshold;  // onset activation that starts a note
    std::optional<double> frame_threshold;  // frame activation that keeps it sounding
    // basic-pitch only (the reference's defaults).
    double min_note_ms = 127.7;  // shorter notes are dropped
    bool melodia_trick = true;   // notes from energy left without onsets
    bool pitch_bends = false;    // basic-pitch: per-frame bends (BasicPitchTranscriber::note_events)
};

// A sustain pedal held from start to end (piano-crnn's pedal model).
struct SustainPedal {
    double start_seconds = 0;
    double end_seconds = 0;
};

class Transcriber {
public:
    virtual ~Transcriber() = default;
    virtual int sample_rate() const = 0;  // e.g. 22050 for basic-pitch, 16000 for piano-crnn
    virtual void push(std::span<const float> mono) = 0;
    // Notes carry start/end in seconds (and in beats at 120 BPM), pitch and velocity.
    virtual std::vector<midi::Note> finish() = 0;
    // The sustain pedal of the last finish(), for backends that hear it.
    virtual std::vector<SustainPedal> sustain_pedal() const { return {}; }
};

// Throws std::runtime_error naming the backend and the file when the weights are
// missing or malformed; std::invalid_argument for an unknown backend.
std::unique_ptr<Transcriber> make_transcriber(const TranscriberOptions& options);

}  // namespace kanade::transcribe
