#include "kanade/io/settings.hpp"

#include "kanade/engine/sampler.hpp"
#include "kanade/engine/inference_mode.hpp"
#include "kanade/engine/session_settings.hpp"
#include "kanade/io/synth.hpp"
#include "kanade/model/inference_precision.hpp"
#include "kanade/music/token_conditions.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>
#include <stdexcept>
#include <type_traits>

namespace kanade::io {
namespace {

std::string number_text(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", value);
    return text;
}

std::string choice_list(const std::vector<std::string>& choices) {
    std::string text;
    for (std::size_t i = 0; i < choices.size(); ++i)
        text += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i];
    return text;
}

// An address text that only this machine can reach.
bool is_loopback_text(const std::string& address) {
    return address.rfind("127.", 0) == 0 || address == "::1" || address == "localhost";
}

// "a, b" -> {"a", "b"}: osc.allow's networks.
std::vector<std::string> split_comma_list(const std::string& text) {
    std::vector<std::string> items;
    std::size_t start = 0;
    while (start <= text.size()) {
        auto comma = text.find(',', start);
        auto item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        item.erase(0, item.find_first_not_of(' '));
        item.erase(item.find_last_not_of(' ') + 1);
        if (!item.empty()) items.push_back(item);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return items;
}

std::string comma_list(const std::vector<std::string>& items) {
    std::string text;
    for (const auto& item : items) text += (text.empty() ? "" : ",") + item;
    return text;
}

// How a plain field of a component's struct is said as a SettingValue.
template <class T>
constexpr SettingType type_of() {
    if constexpr (std::is_same_v<T, bool>)
        return SettingType::flag;
    else if constexpr (std::is_same_v<T, int>)
        return SettingType::integer;
    else if constexpr (std::is_same_v<T, double>)
        return SettingType::number;
    else if constexpr (std::is_same_v<T, std::uint64_t>)
        return SettingType::count;
    else {
        static_assert(std::is_same_v<T, std::string> || std::is_same_v<T, std::filesystem::path>,
                      "a setting's field is bool, int, double, uint64_t or text; anything else needs get and put");
        return SettingType::text;
    }
}

// The table's rows, built with a few short helpers so each row reads as one line of facts.
struct Row {
    Setting setting;
    // A plain field, reached by `access` (a generic lambda: [](auto& c) -> auto& { return c.x.y; }).
    template <class Access>
    Row(std::string key, Access access, std::string help) {
        using T = std::remove_cvref_t<decltype(access(std::declval<DaemonConfig&>()))>;
        setting.key = std::move(key);
        setting.type = type_of<T>();
        setting.get = [access](const DaemonConfig& c) -> SettingValue {
            if constexpr (std::is_same_v<T, std::filesystem::path>)
                return access(c).string();
            else
                return access(c);
        };
        setting.put = [access](DaemonConfig& c, const SettingValue& value) {
            if constexpr (std::is_same_v<T, std::filesystem::path>)
                access(c) = std::get<std::string>(value);
            else
                access(c) = std::get<T>(value);
        };
        setting.help = std::move(help);
    }
    // A field said as text: an enum by its name, a scale, a list.
    Row(std::string key, std::function<std::string(const DaemonConfig&)> get,
        std::function<void(DaemonConfig&, const std::string&)> put, std::string help) {
        setting.key = std::move(key);
        setting.type = SettingType::text;
        setting.get = [get = std::move(get)](const DaemonConfig& c) -> SettingValue { return get(c); };
        setting.put = [put = std::move(put)](DaemonConfig& c, const SettingValue& value) {
            put(c, std::get<std::string>(value));
        };
        setting.help = std::move(help);
    }
    Row&& range(double low, double high, std::string rule = "") && {
        setting.range = std::pair(low, high);
        setting.rule = std::move(rule);
        return std::move(*this);
    }
    Row&& one_of(std::vector<std::string> choices) && {
        setting.choices = std::move(choices);
        return std::move(*this);
    }
    Row&& holds(std::function<bool(const DaemonConfig&)> test, std::string rule) && {
        setting.holds = std::move(test);
        setting.rule = std::move(rule);
        return std::move(*this);
    }
    Row&& details(std::string text) && {
        setting.details = std::move(text);
        return std::move(*this);
    }
    Row&& flag(std::string name) && {
        setting.flag = std::move(name);
        return std::move(*this);
    }
    Row&& per_session() && {
        setting.per_session = true;
        return std::move(*this);
    }
};

std::vector<Setting> make_table() {
    using C = DaemonConfig;
    std::vector<Row> rows;
    auto add = [&rows](Row&& row) { rows.push_back(std::move(row)); };
    // [model]
    add(Row(
            "model.path", [](auto& c) -> auto& { return c.model.path; }, "the model file to play")
            .holds([](const C& c) { return !c.model.path.empty(); }, "must name a model file")
            .flag("--model")
            .details("The model file to play (a relative path is from the daemon's working folder)."));
    add(Row(
            "model.device", [](auto& c) -> auto& { return c.model.device; },
            "where inference runs: auto (a CUDA GPU when there is one), cpu, or cuda[:N]")
            .flag("--device")
            .details("Where the network runs: \"auto\" (CUDA when present, else the CPU), \"cpu\", \"cuda\" or "
                     "\"cuda:1\"."));
    add(Row(
            "model.precision", [](auto& c) -> auto& { return c.model.precision; },
            "CPU inference numbers: bfloat16, float16 or float32 (falls back in that order), or int8")
            .one_of(model::inference_precision_choices())
            .details("CPU inference precision: \"bfloat16\" (weights and the products' inputs; needs AVX-512 BF16), "
                     "\"float16\" (weights only; needs F16C) or \"float32\"; a CPU without what the choice needs falls "
                     "back in that order (logged). \"int8\" (weights and the products' inputs as bytes) is fastest at "
                     "many sessions with AVX-512 VNNI and gives the same numbers, slower, on any other CPU. Held-out "
                     "NLL moves by less than 0.001 with any of them (README, Performance); `kanade bench` says which "
                     "is fastest on this machine."));
    add(Row(
            "model.threads", [](auto& c) -> auto& { return c.model.threads; },
            "CPU threads for inference (0: libtorch's default; 2 or more: a faithful window on two)")
            .range(0, 256)
            .details("CPU threads for inference; 0 lets libtorch choose (the daemon then uses 1). 2 or more also "
                     "splits each faithful-mode window over two threads, each with half the hidden units (about half "
                     "the latency at any batch; the second core spins while a window runs, and a busy machine that "
                     "takes its core away shows as a longer tail)."));
    // [engine]
    add(Row(
            "engine.mode", [](const C& c) -> std::string { return engine::mode_name(c.engine.voice.mode); },
            [](C& c, const std::string& text) { c.engine.voice.mode = engine::parse_mode(text); },
            "free plays on its own, call-response answers the player's phrases, accompany plays along")
            .one_of({"free", "call-response", "accompany"})
            .flag("--mode")
            .per_session()
            .details("\"free\" plays on its own; \"call-response\" answers the player's phrases; \"accompany\" plays "
                     "along with the player."));
    add(Row(
            "engine.inference",
            [](const C& c) -> std::string { return engine::inference_mode_name(c.engine.inference); },
            [](C& c, const std::string& text) { c.engine.inference = engine::parse_inference_mode(text); },
            "streaming carries the LSTM state (cheap); faithful re-runs the window from a fresh state")
            .one_of({"streaming", "faithful"})
            .details("\"streaming\" carries the LSTM state one step at a time (cheap); \"faithful\" re-runs the last "
                     "window from a fresh state each step, as the network was trained."));
    add(Row(
            "engine.temperature", [](auto& c) -> auto& { return c.engine.voice.sampling.temperature; },
            "sampling temperature, 0 (argmax) .. 10")
            .range(0, engine::max_temperature)
            .per_session()
            .details("Sampling temperature, 0 (argmax) .. 10."));
    add(Row(
            "engine.top_k", [](auto& c) -> auto& { return c.engine.voice.sampling.top_k; },
            "sample among the k likeliest tokens (0: all)")
            .range(0, 100000)
            .per_session()
            .details("Sample among the k likeliest tokens; 0 means no limit."));
    add(Row(
            "engine.top_p", [](auto& c) -> auto& { return c.engine.voice.sampling.top_p; },
            "nucleus sampling mass, (0, 1] (1: no limit)")
            .range(0, 1, "must be in (0, 1]")
            .holds([](const C& c) { return c.engine.voice.sampling.top_p > 0 && c.engine.voice.sampling.top_p <= 1; },
                   "must be in (0, 1]")
            .per_session()
            .details("Nucleus sampling: sample among the likeliest tokens that hold this much of the probability, (0, "
                     "1]; 1 means no limit. A note's length is always drawn from the whole distribution."));
    add(Row(
            "engine.seed", [](auto& c) -> auto& { return c.engine.seed; },
            "sampling seed; 0 picks one at each start (the log and the recording name it)")
            .details("Random seed; 0 picks a new one at each start (the log and the recording name it). Voice N "
                     "samples with seed + N - 1, so `kanade generate --seed S` plays what voice 1 would."));
    add(Row(
            "engine.seed_midi", [](auto& c) -> auto& { return c.engine.seed_midi; },
            "free mode starts from this MIDI file (\"\": from nothing)")
            .details("Free mode: seed the music with this MIDI file: a window of the model's length from its "
                     "start, ending on one of its bar lines, so the music goes on in the file's bar (\"\": one of "
                     "the model's primers, or nothing)."));
    add(Row(
            "engine.sessions", [](auto& c) -> auto& { return c.engine.sessions; },
            "voices playing at once, one per MIDI channel from midi.channel on (a restart applies it)")
            .range(1, 16)
            .details("Voices playing at once, each with its own window; voice N plays and listens on MIDI channel "
                     "midi.channel + N - 1, wrapping after 16. All are batched into one forward pass. SIGHUP applies "
                     "everything in [engine] but this count, which takes a restart."));
    add(Row(
            "engine.scale", [](const C& c) { return c.engine.voice.constraints.scale_text(); },
            [](C& c, const std::string& text) { c.engine.voice.constraints.set_scale(text); },
            "key the notes keep to: \"C major\", \"a minor\", \"D dorian\", \"E blues\" or \"chromatic\"")
            .per_session()
            .details("The key the notes keep to: \"C major\", \"a minor\", \"D dorian\", \"F# pentatonic\", \"E "
                     "blues\" or \"chromatic\" (any note)."));
    add(Row(
            "engine.lowest_pitch", [](auto& c) -> auto& { return c.engine.voice.constraints.lowest_pitch; },
            "lowest MIDI note")
            .range(0, 127)
            .per_session()
            .details("The lowest MIDI note played."));
    add(Row(
            "engine.highest_pitch", [](auto& c) -> auto& { return c.engine.voice.constraints.highest_pitch; },
            "highest MIDI note")
            .range(0, 127, "must be lowest_pitch..127")
            .holds(
                [](const C& c) {
                    return c.engine.voice.constraints.highest_pitch >= c.engine.voice.constraints.lowest_pitch &&
                           c.engine.voice.constraints.highest_pitch <= 127;
                },
                "must be lowest_pitch..127")
            .per_session()
            .details("The highest MIDI note played."));
    add(Row(
            "engine.max_polyphony", [](auto& c) -> auto& { return c.engine.voice.constraints.max_polyphony; },
            "notes starting on one step")
            .range(1, 12)
            .per_session()
            .details("How many notes may start on one step."));
    add(Row(
            "engine.density", [](auto& c) -> auto& { return c.engine.voice.constraints.density; },
            "rests: >1 fewer, <1 more")
            .range(0.01, 100)
            .per_session()
            .details("Rests: above 1 fewer, below 1 more."));
    add(Row(
            "engine.repetition_penalty", [](auto& c) -> auto& { return c.engine.voice.constraints.repetition_penalty; },
            "above 1 discourages the notes just played")
            .range(1, 10)
            .per_session()
            .details("A repetition guard: above 1 discourages the notes just played."));
    add(Row(
            "engine.energy", [](auto& c) -> auto& { return c.engine.voice.constraints.energy; },
            "-1 calm (soft, long notes, more rests) .. 1 driving (loud, short notes, fewer rests)")
            .range(-1, 1)
            .per_session()
            .details("-1 (calm: soft, long notes, more rests) .. 1 (driving: loud, short notes, fewer rests): tilts "
                     "the model's choices without masking any (OSC /kanade/energy moves it live)."));
    add(Row(
            "engine.repeat", [](auto& c) -> auto& { return c.engine.voice.repeat; },
            "the chance each bar replays the bar 2 or 4 bars back, note for note (0: never; the network's own "
            "choice of form)")
            .range(0, 1)
            .per_session()
            .details("Form: the chance each bar replays, note for note, the bar two or four bars back, as the corpus "
                     "repeats its phrases (a replayed note that breaks a constraint is chosen afresh); 0 leaves the "
                     "form to the network; 0.15 was chosen on the validation files (models/README.md). OSC "
                     "/kanade/repeat moves it live."));
    add(Row(
            "engine.style", [](auto& c) -> auto& { return c.engine.voice.style; },
            "the model's style to play (1.. its corpus folders, kanade train --style-per-folder; 0: none said)")
            .range(0, music::max_styles)
            .per_session()
            .details("A model trained with --style-per-folder plays the style of its Nth corpus folder (kanade "
                     "model-info lists them; OSC /kanade/style moves it live); 0 says none."));
    add(Row(
            "engine.max_note_steps", [](auto& c) -> auto& { return c.clock.scheduler.max_note_steps; },
            "no note sounds longer, in grid steps")
            .range(1, 256)
            .details("No note sounds longer than this many steps, whatever the model says: nothing hangs. A player's "
                     "note held longer counts as released (a keyboard unplugged mid-note does not keep "
                     "call-and-response waiting)."));
    add(Row(
            "engine.miss_policy",
            [](const C& c) -> std::string { return clock::miss_policy_name(c.clock.scheduler.miss_policy); },
            [](C& c, const std::string& text) { c.clock.scheduler.miss_policy = clock::parse_miss_policy(text); },
            "a step not ready in time: rest, hold the sounding notes, or repeat the last step")
            .one_of({"rest", "hold", "repeat"})
            .details("When a step's notes are not ready at its deadline: \"rest\", \"hold\" (sustain what sounds) or "
                     "\"repeat\" (the last step again). Late steps are counted in /kanade/status."));
    add(Row(
            "engine.phrase_end_silence_steps", [](auto& c) -> auto& { return c.engine.voice.phrase_end_silence_steps; },
            "call-response: this many silent steps end the call")
            .range(1, 256)
            .details("Call-and-response: a call ends after this many silent steps (or on phrase_end_controller, or "
                     "/kanade/answer)."));
    add(Row(
            "engine.phrase_end_controller", [](auto& c) -> auto& { return c.engine.voice.phrase_end_controller; },
            "call-response: this controller released ends the call (64: the sustain pedal; -1: off)")
            .range(-1, 127)
            .details("Call-and-response: a call also ends when this controller is released (64: the sustain pedal; -1: "
                     "off)."));
    add(Row(
            "engine.answer_steps", [](auto& c) -> auto& { return c.engine.voice.answer_steps; },
            "call-response: steps an answer lasts (0: as long as the call)")
            .range(0, 1024)
            .details("Call-and-response: how many steps an answer lasts (0: as long as the call)."));
    add(Row(
            "engine.lookahead_steps", [](auto& c) -> auto& { return c.engine.voice.lookahead_steps; },
            "how far ahead of the clock the network plans, in steps")
            .range(1, 32)
            .details("How many steps ahead of the clock the network plans. In accompany mode a player's note has the "
                     "planned steps not yet played made again with it, so kanade's next step hears it."));
    add(Row(
            "engine.join_player", [](auto& c) -> auto& { return c.engine.voice.join_player; },
            "accompany: kanade's first step made after a player's note starts a note (false: the network may rest)")
            .per_session()
            .details("Accompany: kanade's first step made after a player's note starts a note (a reply within a step); "
                     "false leaves it to the network, which may rest first."));
    // [clock]
    add(Row(
            "clock.bpm", [](auto& c) -> auto& { return c.clock.scheduler.bpm; }, "tempo, beats per minute")
            .range(10, 400)
            .flag("--bpm")
            .details("Internal tempo in beats (quarter notes) per minute."));
    add(Row(
            "clock.steps_per_beat", [](auto& c) -> auto& { return c.clock.scheduler.steps_per_beat; },
            "grid steps per beat (the model's grid wins when they differ)")
            .range(1, 48)
            .details("Grid steps per beat (the model's grid wins when they differ)."));
    add(Row(
            "clock.beats_per_bar", [](auto& c) -> auto& { return c.clock.scheduler.beats_per_bar; },
            "quarter-note beats in the daemon's bar (step 0 starts one), which a model trained with --meter hears")
            .range(1, music::max_beats_per_bar)
            .details("Quarter-note beats in a bar of the grid (step 0 and every bar after it start one): a model "
                     "trained with --meter is told where each step falls in this bar."));
    add(Row(
            "clock.follow_midi_clock", [](auto& c) -> auto& { return c.clock.follow_midi_clock; },
            "an external MIDI beat clock sets tempo, phase, start and stop")
            .details("Follow an external MIDI beat clock on our input: 24 ticks per quarter set the tempo (smoothed) "
                     "and the phase of our step grid; Start, Stop, Continue and Song Position Pointer start and stop "
                     "us where the master is."));
    add(Row(
            "clock.send_midi_clock", [](auto& c) -> auto& { return c.clock.scheduler.send_clock; },
            "send MIDI beat clock, Start/Stop/Continue and Song Position")
            .details("Send our own MIDI beat clock on the output port (24 per quarter, Start/Stop/Continue, Song "
                     "Position before Continue), for drum machines and sequencers that follow us. Leave it off while "
                     "following a clock that loops back to that master."));
    add(Row(
            "clock.link", [](auto& c) -> auto& { return c.clock.link; },
            "join the Ableton Link session on the local network: it leads tempo and beat phase (a bar is "
            "the quantum)")
            .flag("--link")
            .details("Join the Ableton Link session on the local network (UDP multicast; see [osc] for what else "
                     "listens): the session leads the tempo and the beat phase, a bar of this grid being Link's "
                     "quantum, so every step starts where Link's timeline puts it and the network hears Link's bar. "
                     "Our tempo changes (OSC, knobs, SIGHUP's bpm) go to the session. With link on, an incoming MIDI "
                     "clock is ignored. Alone in a session, its bar starts with us."));
    add(Row(
            "clock.link_start_stop_sync", [](auto& c) -> auto& { return c.clock.link_start_stop_sync; },
            "with link: start and stop with the Link session's other members")
            .details("With link: start and stop together with the session's other members (Link's start/stop sync); "
                     "/kanade/start and /kanade/stop start and stop them too."));
    add(Row(
            "clock.realtime_priority", [](auto& c) -> auto& { return c.clock.scheduler.realtime_priority; },
            "ask for SCHED_FIFO for the scheduler thread")
            .details("Ask for SCHED_FIFO real-time priority for the scheduler (reported when refused)."));
    // [midi]
    add(Row(
            "midi.backend", [](auto& c) -> auto& { return c.midi.ports.backend; }, "auto, alsa, jack or none")
            .one_of({"auto", "alsa", "jack", "none"})
            .flag("--midi")
            .details("\"auto\" (the ALSA sequencer where it exists, else JACK), \"alsa\", \"jack\" or \"none\"."));
    add(Row(
            "midi.port_name", [](auto& c) -> auto& { return c.midi.ports.client_name; },
            "the client's name: its ports are NAME:in and NAME:out")
            .details("Name of the virtual input and output ports (NAME:in and NAME:out)."));
    add(Row(
            "midi.connect_in", [](auto& c) -> auto& { return c.midi.ports.connect_in; },
            "connect the ports matching this pattern to our input (\"\": none)")
            .details("Connect the ports whose names contain this text to our input (\"\": none)."));
    add(Row(
            "midi.connect_out", [](auto& c) -> auto& { return c.midi.ports.connect_out; },
            "connect our output to the ports matching this pattern (\"\": none)")
            .details("Connect our output to the ports whose names contain this text (\"\": none)."));
    add(Row(
            "midi.channel", [](auto& c) -> auto& { return c.midi.channel; },
            "the first session's MIDI channel; the others follow, wrapping after 16")
            .range(1, 16)
            .details("MIDI channel (1..16) the first voice's notes go out on; the others follow, wrapping after 16."));
    // [audio]
    add(Row(
            "audio.backend", [](auto& c) -> auto& { return c.audio.backend; },
            "auto (a sound card, else a WAV file), portaudio, jack, none, or a path ending in .wav")
            .holds(
                [](const C& c) {
                    const auto& b = c.audio.backend;
                    return b == "auto" || b == "portaudio" || b == "jack" || b == "none" || is_wav_backend(b);
                },
                "must be auto, portaudio, jack, none or a FILE.wav")
            .flag("--audio")
            .details("\"auto\" (a sound card through PortAudio, else a WAV file), \"portaudio\", \"jack\", \"none\", "
                     "or a path ending in .wav (any case) to render into."));
    add(Row(
            "audio.soundfont", [](auto& c) -> auto& { return c.audio.soundfont; }, "the SoundFont FluidSynth plays")
            .details("The SoundFont FluidSynth plays."));
    add(Row(
            "audio.program", [](auto& c) -> auto& { return c.audio.program; },
            "General MIDI program of kanade's part (0: Acoustic Grand Piano)")
            .range(0, 127)
            .details("General MIDI program the generated part plays (0: Acoustic Grand Piano)."));
    add(Row(
            "audio.gain", [](auto& c) -> auto& { return c.audio.gain; }, "FluidSynth's master gain")
            .range(0, max_gain)
            .details("FluidSynth's master gain."));
    add(Row(
            "audio.sample_rate", [](auto& c) -> auto& { return c.audio.sample_rate; },
            "Hz (a JACK server imposes its own)")
            .range(min_sample_rate, max_sample_rate, "must be 8000..96000 (FluidSynth's range)")
            .details("Hz, 8000..96000 (FluidSynth's range); a JACK server imposes its own."));
    // [osc]
    add(Row(
            "osc.bind", [](auto& c) -> auto& { return c.osc.bind; },
            "address the OSC socket binds; anything but loopback exposes control to the network")
            .details("OSC over UDP. Binding anywhere but loopback exposes control to the network."));
    add(Row(
            "osc.port", [](auto& c) -> auto& { return c.osc.port; }, "OSC UDP port (0: OSC off)")
            .range(0, 65535, "must be 0..65535 (0: OSC off)")
            .flag("--osc-port")
            .details("The OSC port; 0 turns OSC off."));
    add(Row(
            "osc.allow", [](const C& c) { return comma_list(c.osc.allow); },
            [](C& c, const std::string& text) { c.osc.allow = split_comma_list(text); },
            "source networks allowed besides loopback, e.g. \"192.168.1.0/24,10.0.0.0/8\"")
            .details("Source networks allowed to send commands besides loopback, comma separated CIDR "
                     "(\"192.168.1.0/24,10.0.0.0/8\"); only meaningful when bind is not loopback."));
    add(Row(
            "osc.max_packet_bytes", [](auto& c) -> auto& { return c.osc.max_packet_bytes; },
            "larger OSC packets are refused")
            .range(64, 65507)
            .details("Larger OSC packets are refused."));
    // [web]
    add(Row(
            "web.bind", [](auto& c) -> auto& { return c.web.bind; },
            "address the HTTP/WebSocket server (OSCQuery) binds; anything but loopback needs web.token")
            .details("HTTP and WebSocket on one TCP port: OSCQuery, the discovery standard TouchOSC, Max, Chataigne "
                     "and ossia score read (GET / is the JSON namespace of every OSC address with its type, range, "
                     "value and help; a WebSocket LISTENs to value changes), and the control page. Only GET is served; "
                     "a WebSocket from another site's page is refused. Anywhere but loopback needs web.token."));
    add(Row(
            "web.port", [](auto& c) -> auto& { return c.web.port; }, "HTTP and WebSocket port of OSCQuery (0: off)")
            .range(0, 65535, "must be 0..65535 (0: off)")
            .flag("--web-port")
            .details("The HTTP and WebSocket port; 0 turns it off."));
    add(Row(
            "web.token", [](auto& c) -> auto& { return c.web.token; },
            "a secret every HTTP client sends (?token=... or Authorization: Bearer ...); \"\": none")
            .holds([](const C& c) { return !c.web.token.empty() || is_loopback_text(c.web.bind); },
                   "must be set when web.bind is not loopback (127.0.0.1 or ::1)")
            .details("A secret every client sends (?token=... or \"Authorization: Bearer ...\"); needed when bind is "
                     "not loopback."));
    // [record]
    add(Row(
            "record.dir", [](auto& c) -> auto& { return c.record.dir; },
            "record every performance into this folder (\"\": off)")
            .flag("--record")
            .details("Record every performance into this folder (a MIDI file and a JSONL event log each); \"\" turns "
                     "recording off."));

    std::vector<Setting> table;
    for (auto& row : rows) table.push_back(std::move(row.setting));
    return table;
}

double number_of(const SettingValue& value) {
    if (const auto* d = std::get_if<double>(&value)) return *d;
    if (const auto* i = std::get_if<int>(&value)) return *i;
    if (const auto* u = std::get_if<std::uint64_t>(&value)) return static_cast<double>(*u);
    return NAN;
}

std::string toml_string(const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

}  // namespace

const char* setting_type_name(SettingType type) {
    switch (type) {
        case SettingType::flag: return "true or false";
        case SettingType::integer: return "an integer";
        case SettingType::number: return "a number";
        case SettingType::count: return "a non-negative integer";
        case SettingType::text: return "a string";
    }
    return "a value";
}

const std::vector<Setting>& settings() {
    static const std::vector<Setting> table = make_table();
    return table;
}

const Setting& setting(std::string_view key) {
    for (const auto& s : settings())
        if (s.key == key) return s;
    throw std::out_of_range("no setting '" + std::string(key) + "'");
}

void Setting::set(DaemonConfig& config, const SettingValue& value) const {
    if (value.index() != static_cast<std::size_t>(type))
        throw std::invalid_argument(std::string("expected ") + setting_type_name(type));
    if (!choices.empty() && std::find(choices.begin(), choices.end(), std::get<std::string>(value)) == choices.end())
        throw std::invalid_argument(rule.empty() ? "must be " + choice_list(choices) : rule);
    put(config, value);
}

std::string Setting::check(const DaemonConfig& config) const {
    if (range) {
        const double number = number_of(get(config));
        if (!(number >= range->first && number <= range->second))
            return rule.empty() ? "must be " + number_text(range->first) + ".." + number_text(range->second) : rule;
    }
    if (!choices.empty()) {  // a plain text field set in code, not through set()
        const auto text = std::get<std::string>(get(config));
        if (std::find(choices.begin(), choices.end(), text) == choices.end())
            return rule.empty() ? "must be " + choice_list(choices) : rule;
    }
    if (holds && !holds(config)) return rule;
    return "";
}

std::string Setting::value_text(const DaemonConfig& config) const {
    const auto value = get(config);
    if (const auto* text = std::get_if<std::string>(&value)) return toml_string(*text);
    if (const auto* flag = std::get_if<bool>(&value)) return *flag ? "true" : "false";
    if (const auto* d = std::get_if<double>(&value)) {
        char text[32];
        std::snprintf(text, sizeof text, std::floor(*d) == *d ? "%.1f" : "%g", *d);
        return text;
    }
    if (const auto* i = std::get_if<int>(&value)) return std::to_string(*i);
    return std::to_string(std::get<std::uint64_t>(value));
}

void set_from_text(const Setting& setting, DaemonConfig& config, const std::string& text) {
    const auto& name = setting.flag.empty() ? setting.key : setting.flag;
    auto refuse = [&](const std::string& reason) { throw ConfigError(name + ": " + reason + ", not '" + text + "'"); };
    const std::string expected = std::string("expected ") + setting_type_name(setting.type);
    SettingValue value = text;
    std::size_t used = text.size();
    try {
        switch (setting.type) {
            case SettingType::text: break;
            case SettingType::flag:
                if (text != "true" && text != "false") refuse(expected);
                value = text == "true";
                break;
            case SettingType::number: value = std::stod(text, &used); break;
            case SettingType::integer: value = std::stoi(text, &used); break;
            case SettingType::count:
                if (!text.empty() && text.front() == '-') refuse(expected);
                value = static_cast<std::uint64_t>(std::stoull(text, &used));
                break;
        }
    } catch (const std::logic_error&) {  // stod and friends: not a number, or out of range
        refuse(expected);
    }
    if (used != text.size()) refuse(expected);
    try {
        setting.set(config, value);
    } catch (const std::invalid_argument& error) {
        refuse(error.what());
    }
}

std::string out_of_range(std::string_view key, double value, std::string_view what) {
    const auto& s = setting(key);
    if (!s.range || (value >= s.range->first && value <= s.range->second)) return "";
    return std::string(what) + " must be " + number_text(s.range->first) + ".." + number_text(s.range->second);
}

namespace {

// `text` as "# " comment lines of at most 88 characters.
std::string comment_lines(const std::string& text) {
    std::istringstream words(text);
    std::string out, line, word;
    while (words >> word) {
        if (!line.empty() && line.size() + 1 + word.size() > 86) {
            out += "# " + line + "\n";
            line.clear();
        }
        line += (line.empty() ? "" : " ") + word;
    }
    return line.empty() ? out : out + "# " + line + "\n";
}

// What a setting takes and where else it is set, in one comment line.
std::string facts_line(const Setting& s) {
    std::string facts;
    if (s.range && s.rule.empty())
        facts = "must be " + number_text(s.range->first) + ".." + number_text(s.range->second);
    if (!s.rule.empty()) facts = s.rule;
    if (!s.choices.empty()) facts += (facts.empty() ? "" : "; ") + ("one of " + choice_list(s.choices));
    if (!s.flag.empty()) facts += (facts.empty() ? "flag " : "; flag ") + s.flag;
    if (s.per_session) facts += facts.empty() ? "per session over OSC" : "; per session over OSC";
    return facts.empty() ? "" : "# (" + facts + ")\n";
}

constexpr const char* file_header =
    "# kanaded's configuration. Every key is optional: the value shown is the default.\n"
    "# Command-line flags override these (kanaded --help). A wrong key or value stops\n"
    "# start-up with this file's name, the line, the key and the reason.\n"
    "# Written by `kanaded --print-config` from the one table of settings (src/io/settings.cpp).\n";

// Why the shipped map is this one (the table's format and ranges come from controller_map).
constexpr const char* controller_intro =
    "The map below suits the common 8-knob keyboards whose knobs send controllers 21..28 (Novation Launchkey, "
    "Arturia KeyLab and MiniLab in their default mode); panic follows All Notes Off (123).";

}  // namespace

std::string default_config_toml() {
    const DaemonConfig defaults;
    std::ostringstream out;
    out << file_header;
    std::string section;
    for (const auto& s : settings()) {
        const auto dot = s.key.find('.');
        const auto table = s.key.substr(0, dot);
        if (table != section) {
            if (section == "midi")
                out << "\n" << comment_lines(controller_intro) << controller_table_toml(defaults.midi.controllers);
            out << "\n[" << table << "]\n";
            section = table;
        }
        out << comment_lines(s.details.empty() ? s.help : s.details) << facts_line(s) << s.key.substr(dot + 1) << " = "
            << s.value_text(defaults) << "\n";
    }
    return out.str();
}

}  // namespace kanade::io
