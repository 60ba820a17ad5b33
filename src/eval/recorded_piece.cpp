#include "kanade/eval/recorded_piece.hpp"

#include "kanade/io/recording_journal.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

namespace kanade::eval {
namespace {

// A whole number the header holds under `key` (our own header: `"key":N`, no spaces).
std::optional<int> header_int(std::string_view header, std::string_view key) {
    const std::string quoted = "\"" + std::string(key) + "\":";
    const auto at = header.find(quoted);
    if (at == std::string_view::npos) return std::nullopt;
    int value = 0;
    const char* from = header.data() + at + quoted.size();
    const auto [end, error] = std::from_chars(from, header.data() + header.size(), value);
    if (error != std::errc{} || end == from) return std::nullopt;
    return value;
}

bool wanted(RecordedPart part, io::Part of) {
    return part == RecordedPart::all || (part == RecordedPart::machine) == (of == io::Part::machine);
}

}  // namespace

RecordedPart recorded_part(std::string_view name) {
    if (name == "machine") return RecordedPart::machine;
    if (name == "human") return RecordedPart::human;
    if (name == "all") return RecordedPart::all;
    throw std::invalid_argument("part must be machine, human or all, not " + std::string(name));
}

RecordedPiece read_recorded_piece(const std::filesystem::path& journal, RecordedPart part) {
    std::ifstream in(journal, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + journal.string() + ": " + std::strerror(errno));
    RecordedPiece piece;
    std::string line;
    if (std::getline(in, line)) {
        piece.steps_per_beat = header_int(line, "steps_per_beat").value_or(piece.steps_per_beat);
        piece.beats_per_bar = header_int(line, "beats_per_bar").value_or(piece.beats_per_bar);
    }
    if (piece.steps_per_beat < 1 || piece.beats_per_bar < 1)
        throw std::runtime_error(journal.string() + ": the header's grid makes no sense");

    struct Open {
        std::int64_t step;
        std::uint8_t velocity;
    };
    std::map<std::pair<int, int>, std::deque<Open>> sounding;  // (part and channel, pitch): struck, in order
    struct StepNote {
        std::int64_t start, end;
        std::uint8_t pitch, velocity, channel;
    };
    std::vector<StepNote> notes;
    std::size_t events = 0;
    std::int64_t last_step = 0;
    while (std::getline(in, line)) {
        const auto event = io::parse_journal_event(line);
        if (!event || !wanted(part, event->part)) continue;
        const auto& message = event->message;
        if (!message.is_note_on() && !message.is_note_off()) continue;
        ++events;
        if (!event->step) {
            ++piece.unstepped;
            continue;
        }
        last_step = std::max(last_step, *event->step);
        const auto key =
            std::make_pair(static_cast<int>(event->part) * 16 + message.channel(), message.bytes[1] & 0x7F);
        if (message.is_note_on()) {
            sounding[key].push_back({*event->step, message.bytes[2]});
        } else if (auto found = sounding.find(key); found != sounding.end() && !found->second.empty()) {
            const auto open = found->second.front();
            found->second.pop_front();
            notes.push_back({open.step, std::max(*event->step, open.step + 1), static_cast<std::uint8_t>(key.second),
                             open.velocity, static_cast<std::uint8_t>(message.channel())});
        }
    }
    if (in.bad()) throw std::runtime_error("cannot read " + journal.string() + ": " + std::strerror(errno));
    if (events > 0 && piece.unstepped == events)
        throw std::runtime_error(journal.string() + ": no grid steps: recorded by an older kanaded");
    for (const auto& [key, open] : sounding)
        for (const auto& note : open)
            notes.push_back({note.step, std::max(last_step, note.step + 1), static_cast<std::uint8_t>(key.second),
                             note.velocity, static_cast<std::uint8_t>(key.first % 16)});
    if (notes.empty()) return piece;

    std::sort(notes.begin(), notes.end(), [](const StepNote& a, const StepNote& b) {
        return a.start != b.start ? a.start < b.start : a.pitch < b.pitch;
    });
    const std::int64_t steps_per_bar = static_cast<std::int64_t>(piece.steps_per_beat) * piece.beats_per_bar;
    const auto first = notes.front().start;
    piece.first_step =
        (first >= 0 ? first / steps_per_bar : -((-first + steps_per_bar - 1) / steps_per_bar)) * steps_per_bar;
    for (const auto& note : notes) {
        midi::Note out;
        out.start_beat = static_cast<double>(note.start - piece.first_step) / piece.steps_per_beat;
        out.end_beat = static_cast<double>(note.end - piece.first_step) / piece.steps_per_beat;
        out.pitch = note.pitch;
        out.velocity = note.velocity;
        out.channel = note.channel;
        piece.notes.push_back(out);
    }
    return piece;
}

}  // namespace kanade::eval
