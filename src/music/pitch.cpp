#include "kanade/music/pitch.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

namespace kanade::music {
namespace {

// music21's default spelling of a MIDI pitch class.
constexpr std::array<std::string_view, 12> class_names = {"C",  "C#", "D",  "E-", "E",  "F",
                                                          "F#", "G",  "G#", "A",  "B-", "B"};
constexpr std::array<int, 7> natural_classes = {9, 11, 0, 2, 4, 5, 7};  // A..G

int floor_div(int value, int divisor) { return value >= 0 ? value / divisor : -((-value + divisor - 1) / divisor); }

}  // namespace

std::string pitch_name(int midi_pitch) {
    int pitch_class = ((midi_pitch % 12) + 12) % 12;
    int octave = floor_div(midi_pitch, 12) - 1;
    return std::string(class_names[pitch_class]) + std::to_string(octave);
}

std::optional<int> parse_pitch_name(std::string_view name) {
    if (name.empty()) return std::nullopt;
    char letter = static_cast<char>(std::toupper(static_cast<unsigned char>(name[0])));
    if (letter < 'A' || letter > 'G') return std::nullopt;
    int pitch_class = natural_classes[letter - 'A'];
    std::size_t at = 1;
    while (at < name.size() && (name[at] == '#' || name[at] == '-' || name[at] == 'b')) {
        pitch_class += name[at] == '#' ? 1 : -1;
        ++at;
    }
    int octave = 0;
    auto rest = name.substr(at);
    if (rest.empty()) return std::nullopt;
    auto [end, error] = std::from_chars(rest.data(), rest.data() + rest.size(), octave);
    if (error != std::errc{} || end != rest.data() + rest.size()) return std::nullopt;
    int pitch = (octave + 1) * 12 + pitch_class;
    if (pitch < 0 || pitch > 127) return std::nullopt;
    return pitch;
}

std::vector<int> normal_order(const std::vector<int>& pitches) {
    std::vector<int> classes;
    for (int pitch : pitches) classes.push_back(((pitch % 12) + 12) % 12);
    std::sort(classes.begin(), classes.end());
    classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
    const std::size_t n = classes.size();
    if (n <= 1) return classes;

    auto rotation = [&](std::size_t start) {
        std::vector<int> rotated(n);
        for (std::size_t i = 0; i < n; ++i) rotated[i] = classes[(start + i) % n];
        return rotated;
    };
    auto span = [](const std::vector<int>& rotated, std::size_t last) {
        return ((rotated[last] - rotated[0]) % 12 + 12) % 12;
    };
    std::vector<int> best = rotation(0);
    for (std::size_t start = 1; start < n; ++start) {
        auto candidate = rotation(start);
        // Compare spans from the first class to the last, then to the second-last, ...
        for (std::size_t last = n - 1; last >= 1; --last) {
            int a = span(candidate, last), b = span(best, last);
            if (a != b) {
                if (a < b) best = candidate;
                break;
            }
            if (last == 1 && candidate[0] < best[0]) best = candidate;
        }
    }
    return best;
}

}  // namespace kanade::music
