#include "kanade/util/progress.hpp"

#include <algorithm>
#include <cstdio>
#include <unistd.h>

namespace kanade::util {

ProgressBar::ProgressBar(std::string label, std::size_t total)
    : label_(std::move(label)),
      total_(std::max<std::size_t>(total, 1)),
      terminal_(::isatty(2) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_ - std::chrono::hours(1)) {}

void ProgressBar::update(std::size_t done, const std::string& detail) {
    auto now = std::chrono::steady_clock::now();
    auto interval = terminal_ ? std::chrono::milliseconds(100) : std::chrono::milliseconds(5000);
    if (now - last_draw_ < interval) return;
    last_draw_ = now;
    draw(done, detail, false);
}

void ProgressBar::finish(const std::string& detail) { draw(total_, detail, true); }

void ProgressBar::draw(std::size_t done, const std::string& detail, bool final_line) {
    constexpr int width = 30;
    double fraction = std::min(1.0, static_cast<double>(done) / static_cast<double>(total_));
    int filled = static_cast<int>(fraction * width);
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    double eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0;
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "%s%s [%s] %3.0f%% %.0fs<%.0fs %s%s", terminal_ ? "\r\033[K" : "", label_.c_str(), bar.c_str(),
                 fraction * 100, elapsed, eta, detail.c_str(), (final_line || !terminal_) ? "\n" : "");
    std::fflush(stderr);
}

}  // namespace kanade::util
