// The transcription network's command-line options, the same for every command that
// transcribes: transcribe, corpus add and eval-transcription.
#pragma once

#include "kanade/transcribe/transcriber.hpp"

#include <CLI/CLI.hpp>

namespace kanade::cli {

// --backend, --model, --onset-threshold, --frame-threshold, --device.
void add_transcriber_options(CLI::App* sub, transcribe::TranscriberOptions& options);

}  // namespace kanade::cli
