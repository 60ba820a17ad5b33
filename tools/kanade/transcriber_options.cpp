#include "transcriber_options.hpp"

namespace kanade::cli {

void add_transcriber_options(CLI::App* sub, transcribe::TranscriberOptions& options) {
    sub->add_option("--backend", options.backend, "transcription network")
        ->capture_default_str()
        ->check(CLI::IsMember({"basic-pitch", "piano-crnn"}));
    sub->add_option("--model", options.model_path,
                    "the backend's weights (basic-pitch: its model.json, default: where setup installed it; "
                    "piano-crnn: the converted checkpoint, see README)");
    sub->add_option("--onset-threshold", options.onset_threshold,
                    "onset activation that starts a note (default: basic-pitch 0.5, piano-crnn 0.3)")
        ->check(CLI::Range(0.0, 1.0));
    sub->add_option("--frame-threshold", options.frame_threshold,
                    "frame activation that keeps it (default: basic-pitch 0.3, piano-crnn 0.1)")
        ->check(CLI::Range(0.0, 1.0));
    sub->add_option("--device", options.device,
                    "where the network runs (piano-crnn: cpu, cuda, auto; basic-pitch runs on the cpu)")
        ->capture_default_str()
        ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
}

}  // namespace kanade::cli
