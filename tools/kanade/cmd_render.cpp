// kanade render IN.mid OUT.wav: a MIDI file as a stereo WAV through FluidSynth and a
// SoundFont, offline and faster than real time. Built only with KANADE_WITH_IO.
#include "commands.hpp"

#include "kanade/io/fluid_renderer.hpp"
#include "kanade/midi/smf.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <stdexcept>

namespace kanade::cli {
namespace {

struct RenderCommand {
    std::string input;
    std::string output;
    io::RenderOptions options;
    int program = -1;  // -1: the file's own programs
};

void run_render(RenderCommand& command) {
    auto started = std::chrono::steady_clock::now();
    try {
        io::check_soundfont(command.options.soundfont, "--soundfont");
    } catch (const std::runtime_error& error) {
        throw CommandError(error.what(), exit_code::unavailable);
    }
    if (command.program >= 0) command.options.program_override = command.program;

    auto read = midi::read_smf(command.input);
    for (const auto& warning : read.warnings) std::cerr << "kanade: warning: " << warning << "\n";
    auto result = io::render_to_wav(read.file, command.output, command.options);

    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    double peak_db = result.peak > 0 ? 20 * std::log10(result.peak) : -INFINITY;
    std::printf("wrote %s: %.1f s of audio at %d Hz, peak %.1f dBFS%s; %.2f s wall, %.1fx real time\n",
                command.output.c_str(), result.seconds, command.options.sample_rate, peak_db,
                result.peak > 1.0f ? " (clipped: lower --gain)" : "", wall, wall > 0 ? result.seconds / wall : 0.0);
}

}  // namespace

void add_render_command(CLI::App& app) {
    auto command = std::make_shared<RenderCommand>();
    auto& o = command->options;
    auto* render = app.add_subcommand("render", "Render a MIDI file to a WAV file with FluidSynth");
    render->add_option("input", command->input, "MIDI file")->required()->check(CLI::ExistingFile);
    render->add_option("output", command->output, "WAV file to write (16-bit stereo)")->required();
    render->add_option("--soundfont", o.soundfont, "SoundFont (.sf2)")->capture_default_str();
    render->add_option("--sample-rate", o.sample_rate, "samples per second")
        ->capture_default_str()
        ->check(CLI::Range(io::min_sample_rate, io::max_sample_rate));
    render->add_option("--gain", o.gain, "FluidSynth master gain")
        ->capture_default_str()
        ->check(CLI::Range(0.0, io::max_gain));
    render->add_option("--tail", o.tail_seconds, "seconds rendered after the last event")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 600.0));
    render->add_option("--max-seconds", o.max_seconds, "refuse files longer than this")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    render->add_option("--program", command->program, "play every melodic channel with this GM program (0: piano)")
        ->check(CLI::Range(0, 127));
    render->add_flag("!--no-reverb", o.reverb, "turn FluidSynth's reverb off");
    render->add_flag("!--no-chorus", o.chorus, "turn FluidSynth's chorus off");
    render->callback([command] { run_render(*command); });
}

}  // namespace kanade::cli
