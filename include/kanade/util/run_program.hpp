// Runs an outside program (lilypond, ...) directly, never through a shell: the
// arguments reach it exactly as given, so file names with spaces or `;` are safe.
// stdout and stderr are captured together for error messages; stdin is /dev/null.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kanade::util {

struct RunOptions {
    std::filesystem::path working_directory;   // empty: the caller's
    std::size_t max_output_bytes = 64 * 1024;  // only the last bytes are kept
    double timeout_seconds = 0;                // 0: wait as long as it takes
};

struct RunResult {
    int exit_status = 0;    // the program's exit code; 128 + N when killed by signal N
    bool signaled = false;  // killed by a signal (timeouts included)
    bool timed_out = false;
    std::string output;  // stdout and stderr interleaved, at most max_output_bytes
    bool output_truncated = false;

    bool succeeded() const { return !signaled && exit_status == 0; }
};

// argv[0] is looked up in PATH unless it contains a '/'. Throws std::runtime_error
// naming the program when it cannot be started (not found, not executable, bad
// working directory); a program that starts and fails is reported in the result.
RunResult run_program(const std::vector<std::string>& argv, const RunOptions& options = {});

// Where `name` would be found the way run_program looks for it, if anywhere.
std::optional<std::filesystem::path> find_program(std::string_view name);
bool program_available(std::string_view name);

}  // namespace kanade::util
