#include "transcribe_files.hpp"

#include "kanade/io/audio_file.hpp"
#include "kanade/midi/note.hpp"
#include "kanade/midi/smf.hpp"
#include "kanade/util/progress.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>

namespace kanade::cli {
namespace {

namespace fs = std::filesystem;

std::string lower_extension(const fs::path& path) {
    auto extension = path.extension().string();
    std::transform(extension.begin(), extension.end(), extension.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    return extension;
}

std::string rate_text(double audio_seconds, double seconds) {
    char text[64];
    std::snprintf(text, sizeof text, "%.1fx real time", seconds > 0 ? audio_seconds / seconds : 0.0);
    return text;
}

// One recording; returns its length in seconds. Throws on any failure.
double transcribe_one(const fs::path& input, const fs::path& output, const TranscribeFilesOptions& options) {
    auto transcriber = transcribe::make_transcriber(options.transcriber);
    io::AudioFileReader reader(input, transcriber->sample_rate());
    const auto total_frames = static_cast<std::size_t>(std::max<std::int64_t>(reader.info().frames, 1));
    util::ProgressBar progress(input.filename().string(), total_frames);
    const auto started = std::chrono::steady_clock::now();
    std::size_t frames_read = 0;
    constexpr std::size_t block = 1 << 16;
    while (!reader.done()) {
        auto samples = reader.read(block);
        transcriber->push(samples);
        frames_read = std::min(total_frames, frames_read + block);
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        if (!options.quiet)
            progress.update(frames_read,
                            rate_text(static_cast<double>(frames_read) / reader.info().sample_rate, elapsed));
    }
    auto notes = transcriber->finish();
    midi::NotesToFile file_options;
    file_options.track_name = "kanade transcribe " + options.transcriber.backend + ": " + input.filename().string();
    for (const auto& pedal : transcriber->sustain_pedal())
        file_options.sustain_pedal.push_back({pedal.start_seconds * 2.0, pedal.end_seconds * 2.0});  // 120 BPM
    if (!output.parent_path().empty()) fs::create_directories(output.parent_path());
    midi::write_smf(midi::notes_to_file(notes, file_options), output);  // atomic
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (!options.quiet)
        progress.finish(std::to_string(notes.size()) + " notes, " + rate_text(reader.info().seconds, elapsed));
    return reader.info().seconds;
}

bool up_to_date(const fs::path& input, const fs::path& output) {
    std::error_code error;
    if (!fs::exists(output, error)) return false;
    return fs::last_write_time(output, error) >= fs::last_write_time(input, error);
}

}  // namespace

bool is_audio_file(const fs::path& path) {
    static const std::vector<std::string> extensions = {".wav", ".flac", ".ogg", ".oga", ".mp3",
                                                        ".aif", ".aiff", ".w64", ".caf", ".opus"};
    return std::find(extensions.begin(), extensions.end(), lower_extension(path)) != extensions.end();
}

TranscribeFilesSummary transcribe_files(const fs::path& input, const fs::path& output,
                                        const TranscribeFilesOptions& options) {
    std::vector<std::pair<fs::path, fs::path>> jobs;
    if (fs::is_directory(input)) {
        for (const auto& entry :
             fs::recursive_directory_iterator(input, fs::directory_options::skip_permission_denied)) {
            if (!entry.is_regular_file() || !is_audio_file(entry.path())) continue;
            auto relative = fs::relative(entry.path(), input);
            jobs.emplace_back(entry.path(), (output / relative).replace_extension(".mid"));
        }
        std::sort(jobs.begin(), jobs.end());
    } else {
        auto target = fs::is_directory(output) ? output / input.filename().replace_extension(".mid") : output;
        jobs.emplace_back(input, target);
    }

    // A missing or broken model is one error for the whole run, not one per file.
    transcribe::make_transcriber(options.transcriber);
    TranscribeFilesSummary summary;
    const auto started = std::chrono::steady_clock::now();
    for (const auto& [source, target] : jobs) {
        if (!options.force && up_to_date(source, target)) {
            ++summary.skipped;
            continue;
        }
        try {
            summary.audio_seconds += transcribe_one(source, target, options);
            ++summary.transcribed;
        } catch (const std::exception& error) {
            ++summary.failed;
            summary.errors.push_back(error.what());
            std::cerr << "kanade: skipped " << source.string() << ": " << error.what() << std::endl;
        }
    }
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return summary;
}

}  // namespace kanade::cli
