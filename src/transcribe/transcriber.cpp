#include "kanade/transcribe/transcriber.hpp"

#include "kanade/transcribe/basic_pitch_transcriber.hpp"
#include "kanade/transcribe/piano_crnn_transcriber.hpp"

#include <stdexcept>

namespace kanade::transcribe {

std::unique_ptr<Transcriber> make_transcriber(const TranscriberOptions& options) {
    if (options.backend == "basic-pitch") return std::make_unique<BasicPitchTranscriber>(options);
    if (options.backend == "piano-crnn") return std::make_unique<PianoCrnnTranscriber>(options);
    throw std::invalid_argument("unknown transcription backend \"" + options.backend +
                                "\" (known: basic-pitch, piano-crnn)");
}

}  // namespace kanade::transcribe
