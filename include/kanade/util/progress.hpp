// A progress bar for long work on stderr: redrawn in place on a terminal, a line every
// few seconds otherwise (logs, CI), so both people and scripts can follow it.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace kanade::util {

class ProgressBar {
public:
    ProgressBar(std::string label, std::size_t total);
    // `detail` is shown after the bar (loss, rate, ...).
    void update(std::size_t done, const std::string& detail = {});
    void finish(const std::string& detail = {});

private:
    void draw(std::size_t done, const std::string& detail, bool final_line);
    std::string label_;
    std::size_t total_;
    bool terminal_;
    std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace kanade::util
