// The piano CRNN's per-frame outputs to notes and sustain-pedal events: a port of the
// regression post-processing of Kong et al.'s high-resolution piano transcription
// (piano_transcription_inference 0.0.6, RegressionPostProcessor and piano_vad.py),
// its peak picking, sub-frame shifts, note-ending rules and float32 times included.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace kanade::transcribe {

// Per-frame outputs of the note and pedal models at 100 frames per second, row-major
// [frames][88] (pedal: [frames]); pedal vectors may be empty (note model only).
struct PianoCrnnOutputs {
    int frames = 0;
    std::vector<float> reg_onset, reg_offset, frame, velocity;  // frames * 88 each
    std::vector<float> pedal_onset, pedal_offset, pedal_frame;  // frames each, or all empty
};

// The reference's inference.py values.
struct PianoCrnnDecodingOptions {
    double frames_per_second = 100;
    double onset_threshold = 0.3, offset_threshold = 0.3, frame_threshold = 0.1, pedal_offset_threshold = 0.2;
};

// pitch 21..108; velocity trunc(velocity output * 128), as the reference computes it
// (so 128 for an output of exactly 1.0). Times are the reference's float32 values.
struct PianoNoteEvent {
    double onset_seconds, offset_seconds;
    int pitch;
    int velocity;
};
struct PedalEvent {
    double onset_seconds, offset_seconds;
};

// Notes in the reference's order: by pitch, then by onset. A pedal still down at the end
// is dropped, as the reference drops it.
struct PianoCrnnDecoded {
    std::vector<PianoNoteEvent> notes;
    std::vector<PedalEvent> pedals;
};

// Throws std::invalid_argument when a vector's size does not match outputs.frames.
PianoCrnnDecoded decode_piano_crnn(const PianoCrnnOutputs& outputs, const PianoCrnnDecodingOptions& options = {});

// An onset or offset regression output [frames][classes] binarised as the reference
// does: a frame is a peak when its value is above the threshold and the values fall
// (non-strictly) for `neighbour` frames on each side; the shift (-0.5..0.5 frame) places
// the true peak between frames from the two neighbours' values.
struct RegressionPeaks {
    std::vector<std::uint8_t> peak;  // frames * classes, 1 at a peak
    std::vector<float> shift;        // frames * classes, 0 away from peaks
};
RegressionPeaks binarize_regression(std::span<const float> regression, int frames, int classes, double threshold,
                                    int neighbour);

}  // namespace kanade::transcribe
