#include "kanade/transcribe/transcriber.hpp"

#include "kanade/transcribe/basic_pitch_transcriber.hpp"

#include <stdexcept>

namespace kanade::transcribe {

std::unique_ptr<Transcriber> make_transcriber(const TranscriberOptions& options) {
    if (options.backend == "basic-pitch") return std::make_unique<BasicPitchTranscriber>(options);
    if (options.backend == "piano-crnn")
        throw std::runtime_error("the piano-crnn backend (Kong et al.'s piano transcription) is not in this build yet; "
                                 "use --backend basic-pitch");
    throw std::invalid_argument("unknown transcription backend \"" + options.backend + "\" (known: basic-pitch)");
}

}  // namespace kanade::transcribe
