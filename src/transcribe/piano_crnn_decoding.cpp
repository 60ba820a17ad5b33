#include "kanade/transcribe/piano_crnn_decoding.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>

namespace kanade::transcribe {

namespace {

constexpr int pitches = 88;
constexpr int begin_note = 21;  // MIDI pitch of the first class, A0
constexpr float velocity_scale = 128;
constexpr int onset_neighbour = 2;    // frames each side that must fall away from an onset peak
constexpr int offset_neighbour = 4;   // the same for note and pedal offsets
constexpr int max_note_frames = 600;  // a note still sounding this long after its onset is ended there
// The reference hard-codes the pedal's frame threshold; pedal_offset_threshold is only
// for the offset regression.
constexpr double pedal_frame_threshold = 0.5;
constexpr int pedal_release_frames = 10;  // frames the pedal stays up, without an offset peak, before it ends

// One class of a row-major [frames][classes] matrix.
template <typename T>
struct Column {
    const T* data;
    int stride;
    T operator[](int frame) const { return data[static_cast<std::size_t>(frame) * stride]; }
};

// The reference's is_monotonic_neighbour: nothing rises towards the peak from either side.
bool falls_away(Column<float> x, int n, int neighbour) {
    for (int i = 0; i < neighbour; ++i)
        if (x[n - i] < x[n - i - 1] || x[n + i] < x[n + i + 1]) return false;
    return true;
}

// [begin, end] in frames with their shifts, as piano_vad.py's tuples.
struct NoteSpan {
    int begin, end;
    float onset_shift, offset_shift, velocity;
};
struct PedalSpan {
    int begin, end;
    float offset_shift;
};

// note_detection_with_onset_offset_regress for one pitch. The reference tests "bgn"
// for truth, so a frame-0 onset would be ignored; binarize_regression never marks
// frame 0, so an optional says the same.
void detect_notes(int frames, Column<float> frame, Column<std::uint8_t> onset, Column<float> onset_shift,
                  Column<std::uint8_t> offset, Column<float> offset_shift, Column<float> velocity,
                  double frame_threshold, std::vector<NoteSpan>& spans) {
    std::optional<int> begin, frame_gone, offset_seen;
    auto close = [&](int end, float shift) {
        spans.push_back({*begin, end, onset_shift[*begin], shift, velocity[*begin]});
        begin.reset();
        frame_gone.reset();
        offset_seen.reset();
    };
    for (int i = 0; i < frames; ++i) {
        if (onset[i]) {
            // A new onset while the note sounds (a repeated key under the pedal): the note
            // ends on the frame before, without an offset shift.
            if (begin) close(std::max(i - 1, 0), 0.0f);
            begin = i;
        }
        if (!begin || i <= *begin) continue;
        if (frame[i] <= frame_threshold && !frame_gone) frame_gone = i;
        if (offset[i] && !offset_seen) offset_seen = i;
        if (frame_gone) {
            // An offset peak nearer the frame drop than the onset marks the end; an early
            // one (a short dip in the offset regression) does not.
            const int end =
                offset_seen && *offset_seen - *begin > *frame_gone - *offset_seen ? *offset_seen : *frame_gone;
            close(end, offset_shift[end]);
        } else if (i - *begin >= max_note_frames || i == frames - 1) {
            close(i, offset_shift[i]);
        }
    }
    // The reference sorts by onset; spans come out in that order already.
}

// pedal_detection_with_onset_offset_regress: the pedal goes down where its frame output
// rises through the threshold (the onset regression is not used, the authors found this
// more accurate) and comes up at the first offset peak, or 10 frames after the frame
// output falls to the threshold, at the fall.
std::vector<PedalSpan> detect_pedals(int frames, Column<float> frame, Column<std::uint8_t> offset,
                                     Column<float> offset_shift) {
    std::vector<PedalSpan> spans;
    std::optional<int> begin, frame_gone, offset_seen;
    auto close = [&](int end) {
        spans.push_back({*begin, end, offset_shift[end]});
        begin.reset();
        frame_gone.reset();
        offset_seen.reset();
    };
    for (int i = 1; i < frames; ++i) {
        if (frame[i] >= pedal_frame_threshold && frame[i] > frame[i - 1] && !begin) begin = i;
        if (!begin || i <= *begin) continue;
        if (frame[i] <= pedal_frame_threshold && !frame_gone) frame_gone = i;
        if (offset[i] && !offset_seen) offset_seen = i;
        if (offset_seen)
            close(*offset_seen);
        else if (frame_gone && i - *frame_gone >= pedal_release_frames)
            close(*frame_gone);
    }
    return spans;
}

// The reference adds frame and shift in float64, divides, then keeps the times as float32.
double to_seconds(int frame, float shift, double frames_per_second) {
    return static_cast<float>((frame + static_cast<double>(shift)) / frames_per_second);
}

int to_velocity(float velocity) {
    // Python's int() truncates. A NaN (which Python refuses to convert) counts as silence
    // and values beyond int are clamped, where a plain cast would be undefined.
    const float scaled = velocity * velocity_scale;
    if (std::isnan(scaled)) return 0;
    return static_cast<int>(std::clamp(scaled, -2147483520.0f, 2147483520.0f));
}

void check_size(const std::vector<float>& values, const char* name, long long expected) {
    if (static_cast<long long>(values.size()) != expected)
        throw std::invalid_argument("decode_piano_crnn: " + std::string(name) + " has " +
                                    std::to_string(values.size()) + " values, expected " + std::to_string(expected));
}

}  // namespace

RegressionPeaks binarize_regression(std::span<const float> regression, int frames, int classes, double threshold,
                                    int neighbour) {
    if (frames < 0 || classes < 0 || neighbour < 0)
        throw std::invalid_argument("binarize_regression: negative frames, classes or neighbour");
    const std::size_t count = static_cast<std::size_t>(frames) * static_cast<std::size_t>(classes);
    if (regression.size() != count)
        throw std::invalid_argument("binarize_regression: " + std::to_string(regression.size()) +
                                    " values, expected frames * classes = " + std::to_string(count));
    RegressionPeaks out;
    out.peak.assign(count, 0);
    out.shift.assign(count, 0.0f);
    for (int k = 0; k < classes; ++k) {
        const Column<float> x{regression.data() + k, classes};
        for (int n = neighbour; n < frames - neighbour; ++n) {
            // float32 against the threshold in float64, as NumPy 1.x compares a float32
            // scalar with a Python float.
            if (!(x[n] > threshold) || !falls_away(x, n, neighbour)) continue;
            const std::size_t index = static_cast<std::size_t>(n) * classes + k;
            out.peak[index] = 1;
            // Section III-D of the paper: the peak of an isosceles triangle through the
            // three values, in float32 as the reference computes it. A flat top (three
            // equal values) gives 0/0, NaN, as in the reference.
            const float before = x[n - 1], peak = x[n], after = x[n + 1];
            out.shift[index] =
                before > after ? (after - before) / (peak - after) / 2.0f : (after - before) / (peak - before) / 2.0f;
        }
    }
    return out;
}

PianoCrnnDecoded decode_piano_crnn(const PianoCrnnOutputs& outputs, const PianoCrnnDecodingOptions& options) {
    const int frames = outputs.frames;
    if (frames < 0) throw std::invalid_argument("decode_piano_crnn: negative frame count");
    if (!(options.frames_per_second > 0))
        throw std::invalid_argument("decode_piano_crnn: frames_per_second must be positive");
    const long long note_values = static_cast<long long>(frames) * pitches;
    check_size(outputs.reg_onset, "reg_onset", note_values);
    check_size(outputs.reg_offset, "reg_offset", note_values);
    check_size(outputs.frame, "frame", note_values);
    check_size(outputs.velocity, "velocity", note_values);
    const bool with_pedal =
        !outputs.pedal_onset.empty() || !outputs.pedal_offset.empty() || !outputs.pedal_frame.empty();
    if (with_pedal) {
        check_size(outputs.pedal_onset, "pedal_onset", frames);
        check_size(outputs.pedal_offset, "pedal_offset", frames);
        check_size(outputs.pedal_frame, "pedal_frame", frames);
    }

    PianoCrnnDecoded decoded;
    const double fps = options.frames_per_second;
    const auto onsets =
        binarize_regression(outputs.reg_onset, frames, pitches, options.onset_threshold, onset_neighbour);
    const auto offsets =
        binarize_regression(outputs.reg_offset, frames, pitches, options.offset_threshold, offset_neighbour);
    std::vector<NoteSpan> spans;
    for (int k = 0; k < pitches; ++k) {
        spans.clear();
        detect_notes(frames, {outputs.frame.data() + k, pitches}, {onsets.peak.data() + k, pitches},
                     {onsets.shift.data() + k, pitches}, {offsets.peak.data() + k, pitches},
                     {offsets.shift.data() + k, pitches}, {outputs.velocity.data() + k, pitches},
                     options.frame_threshold, spans);
        for (const auto& span : spans)
            decoded.notes.push_back({to_seconds(span.begin, span.onset_shift, fps),
                                     to_seconds(span.end, span.offset_shift, fps), k + begin_note,
                                     to_velocity(span.velocity)});
    }

    if (with_pedal) {
        const auto pedal_offsets =
            binarize_regression(outputs.pedal_offset, frames, 1, options.pedal_offset_threshold, offset_neighbour);
        const auto spans = detect_pedals(frames, {outputs.pedal_frame.data(), 1}, {pedal_offsets.peak.data(), 1},
                                         {pedal_offsets.shift.data(), 1});
        for (const auto& span : spans)
            decoded.pedals.push_back({to_seconds(span.begin, 0.0f, fps), to_seconds(span.end, span.offset_shift, fps)});
    }
    return decoded;
}

}  // namespace kanade::transcribe
