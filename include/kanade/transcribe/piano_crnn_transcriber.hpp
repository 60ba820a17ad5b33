// The "piano-crnn" transcription backend: Kong et al.'s network run as the reference
// inference does, on 10 s segments with 50 % overlap (each segment gives its middle half;
// the first its first three quarters, the last its last three quarters), then the
// regression post-processing of the stitched outputs at finish().
#pragma once

#include "kanade/transcribe/piano_crnn_decoding.hpp"
#include "kanade/transcribe/piano_crnn_model.hpp"
#include "kanade/transcribe/transcriber.hpp"

#include <functional>
#include <memory>

namespace kanade::transcribe {

namespace piano_crnn {
inline constexpr int segment_samples = 10 * sample_rate;
inline constexpr int segment_hop = segment_samples / 2;
inline constexpr int segment_frames = segment_samples / (sample_rate / frames_per_second);  // 1000 (+1 centred)
}  // namespace piano_crnn

// Runs the network on one segment: audio [1, segment_samples] -> outputs [1, 1001, ...].
using PianoCrnnSegmentRunner = std::function<PianoCrnnFrameOutputs(const torch::Tensor& audio)>;

// Audio pushed in chunks of any size; keeps one segment of audio and the stitched outputs.
class PianoCrnnStream {
public:
    explicit PianoCrnnStream(PianoCrnnSegmentRunner run);
    void push(std::span<const float> mono);
    // The outputs the reference's deframe() gives, zero padding at the end included.
    PianoCrnnOutputs finish();

private:
    void run_segment();
    void append(const PianoCrnnFrameOutputs& segment, std::int64_t begin, std::int64_t end);

    PianoCrnnSegmentRunner run_;
    std::vector<float> buffer_;  // the audio from the next segment's start
    std::int64_t samples_ = 0;
    int segments_run_ = 0;
    PianoCrnnFrameOutputs last_;  // the newest segment's outputs, until it is known whether it is the last
    PianoCrnnOutputs out_;
};

class PianoCrnnTranscriber : public Transcriber {
public:
    explicit PianoCrnnTranscriber(const TranscriberOptions& options);
    // With a model already made (tests, benchmarks).
    PianoCrnnTranscriber(std::shared_ptr<PianoCrnnModel> model, const PianoCrnnDecodingOptions& decoding);

    int sample_rate() const override { return piano_crnn::sample_rate; }
    void push(std::span<const float> mono) override;
    std::vector<midi::Note> finish() override;
    std::vector<SustainPedal> sustain_pedal() const override { return pedal_; }

    // The stitched network outputs of the last finish().
    const PianoCrnnOutputs& outputs() const { return outputs_; }

private:
    std::unique_ptr<PianoCrnnStream> make_stream();

    std::shared_ptr<PianoCrnnModel> model_;
    std::unique_ptr<PianoCrnnStream> stream_;
    PianoCrnnDecodingOptions decoding_;
    PianoCrnnOutputs outputs_;
    std::vector<SustainPedal> pedal_;
};

}  // namespace kanade::transcribe
