#include "kanade/notate/lilypond.hpp"

#include "kanade/util/atomic_file.hpp"
#include "kanade/util/run_program.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

namespace kanade::notate {
namespace {

// A stretch of one staff: a chord, or a rest when `pitches` is empty. Times in grid steps.
struct Segment {
    long long start = 0;
    long long end = 0;
    std::vector<int> pitches;
};

// Written durations, in grid steps, longest first; `name` is LilyPond's spelling.
struct Value {
    long long steps;
    long long base;  // the undotted value: equal to steps when not dotted
    std::string name;
};

struct Grid {
    long long steps_per_beat;
    long long bar_steps;
    long long beat_steps;  // the felt beat: a dotted quarter in 6/8, else the denominator's value
    std::vector<Value> values;
};

bool is_power_of_two(long long n) { return n > 0 && (n & (n - 1)) == 0; }

Grid make_grid(const LilypondOptions& options) {
    if (options.steps_per_beat < 1 || options.steps_per_beat > 8 || !is_power_of_two(options.steps_per_beat))
        throw std::invalid_argument("steps_per_beat must be 1, 2, 4 or 8, not " +
                                    std::to_string(options.steps_per_beat));
    const long long whole = 4LL * options.steps_per_beat;
    if (options.time_numerator < 1 || options.time_numerator > 64)
        throw std::invalid_argument("time signature numerator must be 1..64, not " +
                                    std::to_string(options.time_numerator));
    if (!is_power_of_two(options.time_denominator) || options.time_denominator > whole)
        throw std::invalid_argument("time signature denominator " + std::to_string(options.time_denominator) +
                                    " cannot be written on a grid of " + std::to_string(whole) +
                                    " steps per whole note");
    if (options.key_fifths < -7 || options.key_fifths > 7)
        throw std::invalid_argument("key signature must have -7..7 fifths, not " + std::to_string(options.key_fifths));
    if (options.max_bars < 1) throw std::invalid_argument("max_bars must be at least 1");

    Grid grid;
    grid.steps_per_beat = options.steps_per_beat;
    const long long unit = whole / options.time_denominator;
    grid.bar_steps = options.time_numerator * unit;
    bool compound = options.time_denominator >= 8 && options.time_numerator % 3 == 0 && options.time_numerator > 3;
    grid.beat_steps = compound ? 3 * unit : unit;

    auto add = [&](long long steps, long long base, std::string name) {
        grid.values.push_back(Value{steps, base, std::move(name)});
    };
    // Dotted values are only offered where their half-value is still on the grid.
    add(3 * whole, 2 * whole, "\\breve.");
    add(2 * whole, 2 * whole, "\\breve");
    for (long long base = whole, divisor = 1; base >= 1; base /= 2, divisor *= 2) {
        if (base >= 2) add(base + base / 2, base, std::to_string(divisor) + ".");
        add(base, base, std::to_string(divisor));
    }
    return grid;
}

// Whether a value may start at `position` (steps into the bar) without hiding the beat:
// plain values start on a multiple of themselves, dotted ones start on a multiple of
// twice their base or end on one (c8 c4.), and a note may fill whole beats.
// Rests are stricter than notes.
bool fits(const Value& value, long long position, const Grid& grid, bool rest) {
    long long end = position + value.steps;
    bool on_beats = position % grid.beat_steps == 0 && end % grid.beat_steps == 0;
    if (rest) {
        // Rests show every beat they cover: inside a beat they align to their own value;
        // across beats they run from beat to beat, plain values on their own multiple
        // (4/4: r4 r2, not r2.), in triple time from any beat (3/4: c4 r2), dotted ones
        // only as whole beats of compound time (6/8: r8 r8 r4.).
        const bool plain = value.steps == value.base;
        const bool compound = grid.beat_steps % 3 == 0;
        const bool within_beat = position / grid.beat_steps == (end - 1) / grid.beat_steps;
        if (within_beat) {
            if (plain) return position % value.base == 0;
            return compound && value.steps == grid.beat_steps && position % grid.beat_steps == 0;
        }
        if (!on_beats) return false;
        if (compound) return value.steps % grid.beat_steps == 0 && position % value.steps == 0;
        return plain && (position % value.base == 0 || grid.bar_steps == 3 * grid.beat_steps);
    }
    if (on_beats) return true;
    // Inside one beat a note may sit off its own grid by half its base: the
    // syncopations c16 c8 c16 in 4/4 and c8 c4 in 6/8.
    if (position / grid.beat_steps == (end - 1) / grid.beat_steps && position % std::max(1LL, value.base / 2) == 0)
        return true;
    if (value.steps == value.base) return position % value.base == 0;
    if (position % value.base != 0) return false;
    return position % (2 * value.base) == 0 || end % (2 * value.base) == 0;
}

// Splits a stretch inside one bar into written values.
std::vector<const Value*> split_in_bar(long long position, long long length, const Grid& grid, bool rest) {
    std::vector<const Value*> parts;
    while (length > 0) {
        const Value* chosen = nullptr;
        for (const auto& value : grid.values) {
            if (value.steps <= length && fits(value, position, grid, rest)) {
                chosen = &value;
                break;
            }
        }
        // The single step is always there and always fits, so this never stays null.
        parts.push_back(chosen);
        position += chosen->steps;
        length -= chosen->steps;
    }
    return parts;
}

std::string chord_text(const std::vector<int>& pitches, bool flats) {
    if (pitches.size() == 1) return lilypond_pitch(pitches.front(), flats);
    std::string text = "<";
    for (std::size_t i = 0; i < pitches.size(); ++i) {
        if (i) text += ' ';
        text += lilypond_pitch(pitches[i], flats);
    }
    return text + ">";
}

// The duration of a whole bar as one value, or as a multiple of a whole note (R1*5/4).
std::string bar_duration(const Grid& grid, const LilypondOptions& options) {
    for (const auto& value : grid.values)
        if (value.steps == grid.bar_steps) return value.name;
    return "1*" + std::to_string(options.time_numerator) + "/" + std::to_string(options.time_denominator);
}

std::vector<Segment> chord_stream(const std::vector<std::pair<long long, long long>>& spans,
                                  const std::vector<int>& pitches, long long limit) {
    // onset -> (latest end among the notes starting there, their pitches)
    std::map<long long, std::pair<long long, std::set<int>>> onsets;
    for (std::size_t i = 0; i < spans.size(); ++i) {
        auto& onset = onsets[spans[i].first];
        onset.first = std::max(onset.first, spans[i].second);
        onset.second.insert(pitches[i]);
    }
    std::vector<Segment> segments;
    long long cursor = 0;
    for (auto it = onsets.begin(); it != onsets.end(); ++it) {
        auto next = std::next(it);
        long long start = it->first;
        long long end = std::min(it->second.first, next == onsets.end() ? limit : next->first);
        if (start > cursor) segments.push_back(Segment{cursor, start, {}});
        segments.push_back(Segment{start, end, std::vector<int>(it->second.second.begin(), it->second.second.end())});
        cursor = end;
    }
    if (cursor < limit) segments.push_back(Segment{cursor, limit, {}});
    return segments;
}

// One staff's music, a bar per line with bar checks, so LilyPond warns if a bar is off.
std::string staff_music(const std::vector<Segment>& segments, long long bars, const Grid& grid,
                        const LilypondOptions& options, bool flats) {
    std::vector<std::vector<std::string>> bar_tokens(static_cast<std::size_t>(bars));
    const std::string full_bar_rest = "R" + bar_duration(grid, options);
    for (const auto& segment : segments) {
        const std::string pitch = segment.pitches.empty() ? "r" : chord_text(segment.pitches, flats);
        long long position = segment.start;
        while (position < segment.end) {
            long long bar = position / grid.bar_steps;
            long long bar_start = bar * grid.bar_steps;
            long long piece_end = std::min(segment.end, bar_start + grid.bar_steps);
            auto& tokens = bar_tokens[static_cast<std::size_t>(bar)];
            if (segment.pitches.empty() && position == bar_start && piece_end == bar_start + grid.bar_steps) {
                tokens.push_back(full_bar_rest);
            } else {
                auto parts = split_in_bar(position - bar_start, piece_end - position, grid, segment.pitches.empty());
                for (std::size_t i = 0; i < parts.size(); ++i) {
                    std::string token = pitch + parts[i]->name;
                    bool continues = i + 1 < parts.size() || piece_end < segment.end;
                    if (continues && !segment.pitches.empty()) token += "~";
                    tokens.push_back(std::move(token));
                }
            }
            position = piece_end;
        }
    }
    std::string music;
    for (const auto& tokens : bar_tokens) {
        music += "  ";
        for (const auto& token : tokens) music += token + " ";
        music += "|\n";
    }
    return music;
}

std::string ly_string(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        // A line break inside a LilyPond string is legal but would surprise the reader.
        out += (c == '\n' || c == '\r') ? ' ' : c;
    }
    return out + "\"";
}

std::string key_text(const LilypondOptions& options) {
    static const std::array<const char*, 15> major = {"ces", "ges", "des", "aes", "ees", "bes", "f",  "c",
                                                      "g",   "d",   "a",   "e",   "b",   "fis", "cis"};
    static const std::array<const char*, 15> minor = {"aes", "ees", "bes", "f",   "c",   "g",   "d",  "a",
                                                      "e",   "b",   "fis", "cis", "gis", "dis", "ais"};
    auto index = static_cast<std::size_t>(options.key_fifths + 7);
    return std::string("\\key ") + (options.minor ? minor[index] : major[index]) +
           (options.minor ? " \\minor" : " \\major");
}

}  // namespace

std::string lilypond_pitch(int midi_pitch, bool flats) {
    if (midi_pitch < 0 || midi_pitch > 127)
        throw std::invalid_argument("MIDI pitch out of range: " + std::to_string(midi_pitch));
    static const std::array<const char*, 12> sharp_names = {"c",   "cis", "d",   "dis", "e",   "f",
                                                            "fis", "g",   "gis", "a",   "ais", "b"};
    static const std::array<const char*, 12> flat_names = {"c",   "des", "d",   "ees", "e",   "f",
                                                           "ges", "g",   "aes", "a",   "bes", "b"};
    std::string name = (flats ? flat_names : sharp_names)[static_cast<std::size_t>(midi_pitch % 12)];
    // LilyPond's unmarked octave is the one from C3 (48); c' is middle C.
    int marks = midi_pitch / 12 - 1 - 3;
    name.append(static_cast<std::size_t>(std::abs(marks)), marks > 0 ? '\'' : ',');
    return name;
}

Engraving engrave(const std::vector<midi::Note>& notes, const LilypondOptions& options) {
    const Grid grid = make_grid(options);

    std::vector<std::pair<long long, long long>> spans;
    spans.reserve(notes.size());
    long long last_end = 0;
    for (const auto& note : notes) {
        double start_steps = std::max(0.0, note.start_beat) * static_cast<double>(grid.steps_per_beat);
        double end_steps = std::max(0.0, note.end_beat) * static_cast<double>(grid.steps_per_beat);
        // Beats beyond any sane score would overflow the conversion; they are cut anyway.
        start_steps = std::min(start_steps, 1e15);
        end_steps = std::min(end_steps, 1e15);
        long long start = std::llround(start_steps);
        long long end = std::llround(end_steps);
        // Every note sounds for at least one step, however short it was played.
        end = std::max(end, start + 1);
        spans.emplace_back(start, end);
        last_end = std::max(last_end, end);
    }

    Engraving engraving;
    long long total_bars = std::max<long long>(1, (last_end + grid.bar_steps - 1) / grid.bar_steps);
    long long bars = std::min<long long>(total_bars, options.max_bars);
    engraving.total_bars = static_cast<int>(std::min<long long>(total_bars, 1'000'000'000));
    engraving.bars = static_cast<int>(bars);
    const long long limit = bars * grid.bar_steps;

    std::vector<std::pair<long long, long long>> upper_spans, lower_spans;
    std::vector<int> upper_pitches, lower_pitches;
    for (std::size_t i = 0; i < notes.size(); ++i) {
        auto [start, end] = spans[i];
        if (start >= limit) continue;
        ++engraving.notes;
        end = std::min(end, limit);
        int pitch = notes[i].pitch;
        bool upper = pitch >= options.split_pitch;
        (upper ? upper_spans : lower_spans).emplace_back(start, end);
        (upper ? upper_pitches : lower_pitches).push_back(pitch);
    }

    const bool flats = options.key_fifths < 0;
    std::ostringstream out;
    out << "\\version \"2.24.0\"\n\n";
    out << "% Written by kanade: notes on a grid of " << grid.steps_per_beat
        << " steps per quarter note, a chord stream per staff.\n";
    if (engraving.truncated())
        out << "% Only the first " << engraving.bars << " of " << engraving.total_bars << " bars.\n";
    out << "\n\\header {\n";
    if (!options.title.empty()) out << "  title = " << ly_string(options.title) << "\n";
    if (!options.composer.empty()) out << "  composer = " << ly_string(options.composer) << "\n";
    if (engraving.truncated())
        out << "  subtitle = "
            << ly_string("(the first " + std::to_string(engraving.bars) + " of " +
                         std::to_string(engraving.total_bars) + " bars)")
            << "\n";
    out << "  tagline = ##f\n}\n\n";

    out << "global = {\n  " << key_text(options) << "\n  \\time " << options.time_numerator << "/"
        << options.time_denominator << "\n}\n\n";

    out << "upper = {\n  \\clef treble\n";
    if (options.tempo_bpm && std::isfinite(*options.tempo_bpm) && *options.tempo_bpm > 0)
        out << "  \\tempo 4 = " << std::max(1LL, std::llround(*options.tempo_bpm)) << "\n";
    out << staff_music(chord_stream(upper_spans, upper_pitches, limit), bars, grid, options, flats);
    out << "  \\bar \"|.\"\n}\n\n";

    out << "lower = {\n  \\clef bass\n";
    out << staff_music(chord_stream(lower_spans, lower_pitches, limit), bars, grid, options, flats);
    out << "  \\bar \"|.\"\n}\n\n";

    out << "\\score {\n"
           "  \\new PianoStaff <<\n"
           "    \\new Staff = \"upper\" << \\global \\upper >>\n"
           "    \\new Staff = \"lower\" << \\global \\lower >>\n"
           "  >>\n"
           "  \\layout { }\n"
           "}\n";
    engraving.source = out.str();
    return engraving;
}

std::string to_lilypond(const std::vector<midi::Note>& notes, const LilypondOptions& options) {
    return engrave(notes, options).source;
}

namespace {

std::filesystem::path stem_of(const std::filesystem::path& output_stem) {
    auto extension = output_stem.extension().string();
    std::transform(extension.begin(), extension.end(), extension.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (extension == ".ly" || extension == ".pdf" || extension == ".png") {
        auto stem = output_stem;
        return stem.replace_extension();
    }
    return output_stem;
}

std::filesystem::path with_suffix(const std::filesystem::path& stem, const std::string& suffix) {
    return stem.parent_path() / (stem.filename().string() + suffix);
}

// The last lines of a program's output: enough to see LilyPond's error.
std::string tail_lines(const std::string& text, std::size_t lines) {
    std::size_t position = text.size();
    while (position > 0 && (text[position - 1] == '\n')) --position;
    std::size_t end = position;
    for (std::size_t seen = 0; position > 0; --position) {
        if (text[position - 1] == '\n' && ++seen == lines) break;
    }
    return text.substr(position, end - position);
}

}  // namespace

NotationResult notate(const std::vector<midi::Note>& notes, const std::filesystem::path& output_stem,
                      const LilypondOptions& options, bool render, const EngraveProgram& program) {
    NotationResult result;
    result.engraving = engrave(notes, options);
    const auto stem = std::filesystem::absolute(stem_of(output_stem));
    result.ly = with_suffix(stem, ".ly");
    util::write_file_atomically(result.ly, std::string_view(result.engraving.source));
    result.engraving.source.clear();

    std::string summary = "wrote " + result.ly.string() + " (" + std::to_string(result.engraving.bars) +
                          (result.engraving.bars == 1 ? " bar" : " bars");
    if (result.engraving.truncated()) summary += ", cut from " + std::to_string(result.engraving.total_bars);
    summary += ")";

    if (!render) {
        result.status = NotationStatus::not_asked;
        result.message = summary;
        return result;
    }
    auto lilypond = util::find_program(program.lilypond);
    if (!lilypond) {
        result.status = NotationStatus::unavailable;
        result.message = summary + "\n" + program.lilypond +
                         " was not found on PATH, so there is no PDF or PNG; install LilyPond "
                         "(Debian/Ubuntu: sudo apt-get install lilypond) and run: lilypond --pdf --png " +
                         result.ly.string();
        return result;
    }

    // Old pictures of this stem would pass for new ones (a score that shrank from two
    // pages to one leaves STEM-page2.png), so lilypond starts from a clean slate.
    std::error_code ignored;
    std::filesystem::remove(with_suffix(stem, ".pdf"), ignored);
    std::filesystem::remove(with_suffix(stem, ".png"), ignored);
    for (int page = 1; std::filesystem::remove(with_suffix(stem, "-page" + std::to_string(page) + ".png"), ignored);
         ++page) {}

    util::RunOptions run_options;
    run_options.working_directory = stem.parent_path();
    run_options.timeout_seconds = program.timeout_seconds;
    auto run = util::run_program(
        {lilypond->string(), "--pdf", "--png", "-dresolution=" + std::to_string(program.png_resolution),
         "-dno-point-and-click", "--loglevel=WARNING", "-o", stem.string(), result.ly.string()},
        run_options);

    auto pdf = with_suffix(stem, ".pdf");
    if (run.succeeded() && std::filesystem::exists(pdf)) {
        result.pdf = pdf;
        // LilyPond names the PNG STEM.png for one page, STEM-page1.png... for more.
        int pages = 0;
        if (std::filesystem::exists(with_suffix(stem, ".png"))) {
            result.png = with_suffix(stem, ".png");
            pages = 1;
        } else {
            while (std::filesystem::exists(with_suffix(stem, "-page" + std::to_string(pages + 1) + ".png"))) ++pages;
            if (pages > 0) result.png = with_suffix(stem, "-page1.png");
        }
        result.status = NotationStatus::rendered;
        result.message = summary + "\nwrote " + pdf.string();
        if (result.png) {
            result.message += "\nwrote " + result.png->string();
            if (pages > 1) result.message += " (page 1 of " + std::to_string(pages) + ")";
        }
        // Warnings (a failed bar check, say) mean the score may not say what was meant.
        if (!run.output.empty()) result.message += "\nlilypond said:\n" + tail_lines(run.output, 20);
        return result;
    }
    result.status = NotationStatus::failed;
    std::string why = run.timed_out
                          ? "timed out after " + std::to_string(static_cast<int>(program.timeout_seconds)) + " s"
                          : "exit status " + std::to_string(run.exit_status);
    result.message =
        summary + "\nlilypond failed on " + result.ly.string() + " (" + why + "):\n" + tail_lines(run.output, 20);
    return result;
}

}  // namespace kanade::notate
