// A transcription backend: mono audio in at the backend's own sample rate, notes out.
// Audio is pushed in chunks of any size, so a recording of an hour streams through
// bounded memory (a backend keeps only the window it is working on); finish() flushes
// the last window and returns every note, sorted by start.
#pragma once

#include "kanade/midi/note.hpp"

#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace kanade::transcribe {

struct TranscriberOptions {
    std::string backend = "basic-pitch";  // "basic-pitch" | "piano-crnn"
    // Where the backend's weights are; empty: the backend's default place.
    std::filesystem::path model_path;
    std::string device = "cpu";           // "cpu" | "cuda" | "auto"
    int threads = 0;                      // intra-op threads; 0: libtorch's default
    // basic-pitch note decoding (the reference's defaults).
    double onset_threshold = 0.5;         // onset activation that starts a note
    double frame_threshold = 0.3;         // frame activation that keeps it sounding
    double min_note_ms = 127.7;           // shorter notes are dropped
    bool melodia_trick = true;            // notes from energy left without onsets
    bool pitch_bends = false;             // basic-pitch: per-frame bends (BasicPitchTranscriber::note_events)
};

class Transcriber {
public:
    virtual ~Transcriber() = default;
    virtual int sample_rate() const = 0;  // e.g. 22050 for basic-pitch, 16000 for piano-crnn
    virtual void push(std::span<const float> mono) = 0;
    // Notes carry start/end in seconds (and in beats at 120 BPM), pitch and velocity.
    virtual std::vector<midi::Note> finish() = 0;
};

// Throws std::runtime_error naming the backend and the file when the weights are
// missing or malformed; std::invalid_argument for an unknown backend.
std::unique_ptr<Transcriber> make_transcriber(const TranscriberOptions& options);

}  // namespace kanade::transcribe
