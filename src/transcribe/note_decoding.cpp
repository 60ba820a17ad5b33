#include "kanade/transcribe/note_decoding.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kanade::transcribe {

namespace {

constexpr int midi_offset = 21;
constexpr int max_frequency_index = 87;
constexpr int contour_bins = 264;
constexpr int contour_bins_per_semitone = 3;
constexpr double base_frequency = 27.5;

// A dense row-major matrix of doubles: the reference works on JavaScript numbers.
struct Matrix {
    int rows = 0, cols = 0;
    std::vector<double> values;
    double& at(int r, int c) { return values[static_cast<std::size_t>(r) * cols + c]; }
    double at(int r, int c) const { return values[static_cast<std::size_t>(r) * cols + c]; }
};

Matrix to_matrix(const torch::Tensor& tensor) {
    const auto t = tensor.to(torch::kFloat32).contiguous();
    Matrix m;
    m.rows = static_cast<int>(t.size(0));
    m.cols = static_cast<int>(t.size(1));
    const float* data = t.data_ptr<float>();
    m.values.assign(data, data + t.numel());
    // NaN activations (NaN audio) count as silence, so the searches below stay ordered.
    for (double& v : m.values)
        if (std::isnan(v)) v = 0.0;
    return m;
}

// Math.max: NaN wins.
double js_max(double a, double b) {
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<double>::quiet_NaN();
    return std::max(a, b);
}
double js_min(double a, double b) {
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<double>::quiet_NaN();
    return std::min(a, b);
}

double global_max(const Matrix& m) {
    double best = 0;
    for (const double v : m.values) best = js_max(best, v);
    return best;
}

// The reference's argMax: the last index among equal maxima (a NaN also takes over).
int arg_max(const double* row, int n) {
    if (n == 0) return -1;
    int best = 0;
    for (int i = 1; i < n; ++i)
        if (!(row[best] > row[i])) best = i;
    return best;
}

double hz_to_midi(double hz) { return 12 * (std::log2(hz) - std::log2(440.0)) + 69; }
double midi_to_hz(double midi) { return 440.0 * std::pow(2.0, (midi - 69.0) / 12.0); }

void constrain_frequency(Matrix& onsets, Matrix& frames, double max_hz, double min_hz) {
    // Array.fill with a fractional index truncates toward zero (ToIntegerOrInfinity).
    auto fill = [](Matrix& m, double from, double to) {
        const int cols = m.cols;
        auto clamp_index = [cols](double v) {
            if (std::isnan(v)) return 0;
            v = std::trunc(v);
            if (v < 0) v = std::max(0.0, cols + v);
            return static_cast<int>(std::min<double>(v, cols));
        };
        const int a = clamp_index(from), b = clamp_index(to);
        for (int r = 0; r < m.rows; ++r)
            for (int c = a; c < b; ++c) m.at(r, c) = 0;
    };
    if (max_hz > 0) {
        const double index = hz_to_midi(max_hz) - midi_offset;
        fill(onsets, index, onsets.cols);
        fill(frames, index, frames.cols);
    }
    if (min_hz > 0) {
        const double index = hz_to_midi(min_hz) - midi_offset;
        fill(onsets, 0, index);
        fill(frames, 0, index);
    }
}

Matrix inferred_onsets(const Matrix& onsets, const Matrix& frames, int n_diff = 2) {
    Matrix diff = frames;
    for (int r = 0; r < frames.rows; ++r)
        for (int c = 0; c < frames.cols; ++c) {
            double smallest = 0;
            for (int n = 1; n <= n_diff; ++n) {
                const double previous = r - n >= 0 ? frames.at(r - n, c) : 0.0;
                const double d = frames.at(r, c) - previous;
                smallest = n == 1 ? d : js_min(smallest, d);
            }
            diff.at(r, c) = r < n_diff ? 0.0 : js_max(smallest, 0);
        }
    const double onset_max = global_max(onsets);
    const double diff_max = global_max(diff);
    Matrix out = onsets;
    for (std::size_t i = 0; i < out.values.size(); ++i)
        out.values[i] = js_max(onsets.values[i], (onset_max * diff.values[i]) / diff_max);
    return out;
}

// scipy's argrelmax with order 1 along time, strictly greater than both neighbours.
Matrix peaks_only(const Matrix& m) {
    Matrix out = m;
    std::fill(out.values.begin(), out.values.end(), 0.0);
    for (int col = 0; col < m.cols; ++col)
        for (int row = 0; row < m.rows; ++row) {
            bool peak = true;
            if (row > 0) peak = peak && m.at(row, col) > m.at(row - 1, col);
            if (row + 1 < m.rows) peak = peak && m.at(row, col) > m.at(row + 1, col);
            if (peak) out.at(row, col) = m.at(row, col);
        }
    return out;
}

void clear_neighbourhood(Matrix& energy, int frame, int bin) {
    energy.at(frame, bin) = 0;
    if (bin < max_frequency_index) energy.at(frame, bin + 1) = 0;
    if (bin > 0) energy.at(frame, bin - 1) = 0;
}

double mean_over(const Matrix& frames, int from, int to, int bin) {
    double sum = 0;
    for (int j = from; j < to; ++j) sum += frames.at(j, bin);
    return sum / (to - from);
}

// The melodia trick's search for the largest remaining energy, as the reference does
// it (globalMax, then the first row holding the largest row maximum, in that row the last
// largest bin; row 0 keeps bin 0 on a tie) but in O(log T) per note instead of a scan of
// the whole matrix: row maxima in a tournament tree, refreshed for the rows a note clears.
class RemainingEnergyMaximum {
public:
    explicit RemainingEnergyMaximum(const Matrix& energy) : energy_(energy) {
        while (leaves_ < energy.rows) leaves_ *= 2;
        row_max_.assign(energy.rows, 0.0);
        tree_.assign(2 * leaves_, -1);
        for (int r = 0; r < energy.rows; ++r) row_max_[r] = row_maximum(r);
        for (int r = 0; r < energy.rows; ++r) tree_[leaves_ + r] = r;
        for (int n = leaves_ - 1; n >= 1; --n) tree_[n] = better(tree_[2 * n], tree_[2 * n + 1]);
    }

    // globalMax: the reduction starts from 0.
    double value() const { return tree_[1] < 0 ? 0.0 : std::max(0.0, row_max_[tree_[1]]); }

    std::pair<int, int> reference_arg_max() const {
        const int row = tree_[1];
        const double* values = &energy_.values[static_cast<std::size_t>(row) * energy_.cols];
        if (row == 0 && !(row_max_[0] > energy_.at(0, 0))) return {0, 0};
        return {row, arg_max(values, energy_.cols)};
    }

    void rows_changed(int first, int last) {
        first = std::max(first, 0);
        last = std::min(last, energy_.rows - 1);
        for (int r = first; r <= last; ++r) {
            row_max_[r] = row_maximum(r);
            for (int n = (leaves_ + r) / 2; n >= 1; n /= 2) tree_[n] = better(tree_[2 * n], tree_[2 * n + 1]);
        }
    }

private:
    double row_maximum(int r) const {
        const double* values = &energy_.values[static_cast<std::size_t>(r) * energy_.cols];
        return values[arg_max(values, energy_.cols)];
    }
    // The larger row maximum; the earlier row on a tie.
    int better(int a, int b) const {
        if (a < 0) return b;
        if (b < 0) return a;
        return row_max_[b] > row_max_[a] ? b : a;
    }

    const Matrix& energy_;
    int leaves_ = 1;
    std::vector<double> row_max_;
    std::vector<int> tree_;  // heap-ordered; each node holds its best row, -1 for none
};

}  // namespace

std::vector<NoteEvent> output_to_notes_poly(const torch::Tensor& frames_tensor, const torch::Tensor& onsets_tensor,
                                            const NoteDecodingOptions& options) {
    if (frames_tensor.dim() != 2 || frames_tensor.size(0) == 0) return {};
    Matrix frames = to_matrix(frames_tensor);
    Matrix onsets = to_matrix(onsets_tensor);
    const int n_frames = frames.rows;
    const double threshold = options.frame_threshold;
    constrain_frequency(onsets, frames, options.max_frequency_hz, options.min_frequency_hz);
    const Matrix onset_strength = options.infer_onsets ? inferred_onsets(onsets, frames) : onsets;
    const Matrix peaks = peaks_only(onset_strength);

    std::vector<std::pair<int, int>> starts;  // (frame, bin) in row-major order
    for (int r = 0; r < peaks.rows; ++r)
        for (int c = 0; c < peaks.cols; ++c)
            if (peaks.at(r, c) > options.onset_threshold) starts.emplace_back(r, c);
    std::reverse(starts.begin(), starts.end());

    Matrix energy = frames;
    std::vector<NoteEvent> notes;
    for (const auto& [start, bin] : starts) {
        if (start >= n_frames - 1) continue;
        int i = start + 1, k = 0;
        while (i < n_frames - 1 && k < options.energy_tolerance) {
            k = energy.at(i, bin) < threshold ? k + 1 : 0;
            ++i;
        }
        i -= k;
        if (i - start <= options.min_note_frames) continue;
        for (int j = start; j < i; ++j) clear_neighbourhood(energy, j, bin);
        notes.push_back({start, i - start, bin + midi_offset, mean_over(frames, start, i, bin), {}});
    }

    if (options.melodia_trick) {
        RemainingEnergyMaximum maximum(energy);
        while (maximum.value() > threshold) {
            const auto [mid, bin] = maximum.reference_arg_max();
            energy.at(mid, bin) = 0;
            int i = mid + 1, k = 0;
            while (i < n_frames - 1 && k < options.energy_tolerance) {
                k = energy.at(i, bin) < threshold ? k + 1 : 0;
                clear_neighbourhood(energy, i, bin);
                ++i;
            }
            const int end = i - 1 - k;
            const int last_cleared = i - 1;
            i = mid - 1;
            k = 0;
            while (i > 0 && k < options.energy_tolerance) {
                k = energy.at(i, bin) < threshold ? k + 1 : 0;
                clear_neighbourhood(energy, i, bin);
                --i;
            }
            const int start = i + 1 + k;
            maximum.rows_changed(std::min(i + 1, mid), std::max(last_cleared, mid));
            if (start < 0 || end >= n_frames) break;  // the reference throws; cannot happen
            if (end - start <= options.min_note_frames) continue;
            notes.push_back({start, end - start, bin + midi_offset, mean_over(frames, start, end, bin), {}});
        }
    }
    return notes;
}

void add_pitch_bends(const torch::Tensor& contours_tensor, std::vector<NoteEvent>& notes, int bins_tolerance) {
    const Matrix contours = to_matrix(contours_tensor);
    const int window = bins_tolerance * 2 + 1;
    std::vector<double> gaussian(window);
    for (int n = 0; n < window; ++n) {
        const double x = n - (window - 1) / 2.0;
        gaussian[n] = std::exp((-1 * x * x) / (2 * 5.0 * 5.0));
    }
    for (auto& note : notes) {
        const double bin = 12.0 * contour_bins_per_semitone * std::log2(midi_to_hz(note.pitch) / base_frequency);
        const int freq = static_cast<int>(std::floor(std::floor(bin + 0.5)));
        const int first = std::max(freq - bins_tolerance, 0);
        const int last = std::min(contour_bins, freq + bins_tolerance + 1);
        const int gauss_first = std::max(0, bins_tolerance - freq);
        const int shift = bins_tolerance - std::max(0, bins_tolerance - freq);
        note.pitch_bends.clear();
        const int end = std::min(contours.rows, note.start_frame + note.duration_frames);
        std::vector<double> row(std::max(0, last - first));
        for (int f = note.start_frame; f < end; ++f) {
            for (int c = first; c < last; ++c) row[c - first] = contours.at(f, c) * gaussian[gauss_first + c - first];
            note.pitch_bends.push_back(arg_max(row.data(), static_cast<int>(row.size())) - shift);
        }
    }
}

double model_frame_to_seconds(int frame) {
    constexpr double fft_hop = 256, sample_rate = 22050, frames_per_window = 172, window_samples = 43844;
    const double window_offset = (fft_hop / sample_rate) * (frames_per_window - window_samples / fft_hop) + 0.0018;
    return (frame * fft_hop) / sample_rate - window_offset * std::floor(frame / frames_per_window);
}

std::vector<midi::Note> note_events_to_notes(const std::vector<NoteEvent>& events) {
    std::vector<midi::Note> notes;
    for (const auto& event : events) {
        midi::Note note;
        note.start_seconds = model_frame_to_seconds(event.start_frame);
        const double duration = model_frame_to_seconds(event.start_frame + event.duration_frames) - note.start_seconds;
        note.end_seconds = note.start_seconds + duration;
        note.start_beat = note.start_seconds * 2.0;  // 120 BPM
        note.end_beat = note.end_seconds * 2.0;
        note.pitch = static_cast<std::uint8_t>(std::clamp(event.pitch, 0, 127));
        note.velocity =
            static_cast<std::uint8_t>(std::clamp(static_cast<int>(std::floor(event.amplitude * 127)), 1, 127));
        notes.push_back(note);
    }
    std::stable_sort(notes.begin(), notes.end(), [](const midi::Note& a, const midi::Note& b) {
        return a.start_seconds != b.start_seconds ? a.start_seconds < b.start_seconds : a.pitch < b.pitch;
    });
    return notes;
}

}  // namespace kanade::transcribe
