// Audio files to MIDI files, one or a whole folder, for `kanade transcribe` and
// `kanade corpus add`: streams each recording through a transcriber, writes the MIDI
// atomically, skips what is already done, and reports a bad file without stopping.
#pragma once

#include "kanade/transcribe/transcriber.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace kanade::cli {

struct TranscribeFilesOptions {
    transcribe::TranscriberOptions transcriber;
    bool force = false;  // redo outputs that are newer than their input
    bool quiet = false;  // no progress bars
};

struct TranscribeFilesSummary {
    std::size_t transcribed = 0, skipped = 0, failed = 0;
    double audio_seconds = 0, seconds = 0;  // of the files transcribed
    std::vector<std::string> errors;        // one line per failed file
};

// Whether a path looks like audio kanade reads (by extension).
bool is_audio_file(const std::filesystem::path& path);

// `input` a file: writes `output` (a .mid file, or into `output` when it is a folder).
// `input` a folder: every audio file below it into `output`, same layout, .mid names.
TranscribeFilesSummary transcribe_files(const std::filesystem::path& input, const std::filesystem::path& output,
                                        const TranscribeFilesOptions& options);

}  // namespace kanade::cli
