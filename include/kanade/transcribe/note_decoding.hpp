// Basic Pitch's activations to notes: a faithful port of the reference's
// outputToNotesPoly, addPitchBendsToNoteEvents and noteFramesToTime (npm
// @spotify/basic-pitch, src/toMidi.ts), ties and frame arithmetic included.
#pragma once

#include "kanade/midi/note.hpp"

#include <torch/torch.h>

#include <vector>

namespace kanade::transcribe {

struct NoteDecodingOptions {
    double onset_threshold = 0.5;  // an onset peak above this starts a note
    double frame_threshold = 0.3;  // a note lasts while its frame activation stays above
    int min_note_frames = 11;      // notes this short or shorter are dropped (~127.7 ms)
    bool infer_onsets = true;      // add onsets where frame activations jump
    double max_frequency_hz = 0;   // 0: no limit
    double min_frequency_hz = 0;   // 0: no limit
    bool melodia_trick = true;     // make notes of the energy left without onsets
    int energy_tolerance = 11;     // frames allowed below the threshold inside a note
};

struct NoteEvent {
    int start_frame = 0;
    int duration_frames = 0;
    int pitch = 0;                 // MIDI
    double amplitude = 0;          // mean frame activation over the note, 0..1
    std::vector<int> pitch_bends;  // per frame, in contour bins (1/3 semitone); empty if not asked
};

// frames, onsets: [T, 88]. Notes in the reference's order (onset notes from the last,
// then melodia notes).
std::vector<NoteEvent> output_to_notes_poly(const torch::Tensor& frames, const torch::Tensor& onsets,
                                            const NoteDecodingOptions& options = {});

// contours: [T, 264]; fills pitch_bends of each note.
void add_pitch_bends(const torch::Tensor& contours, std::vector<NoteEvent>& notes, int bins_tolerance = 25);

// Seconds of a model frame, with the reference's per-window offset correction.
double model_frame_to_seconds(int frame);

// Timed notes (beats at 120 BPM), velocity floor(amplitude * 127) as the reference's MIDI
// writer has it, sorted by start then pitch.
std::vector<midi::Note> note_events_to_notes(const std::vector<NoteEvent>& events);

}  // namespace kanade::transcribe
