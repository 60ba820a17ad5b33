// The whole OSC address space of kanaded, in one table. Handlers run on the io thread;
// each validates its arguments and returns "" or the reason for /kanade/fail.
#include "osc_commands.hpp"

#include "daemon.hpp"

#include "kanade/io/settings.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <type_traits>

namespace kanade::daemon {
namespace {

using io::OscEndpoint;
using io::OscMessage;

float number(const OscMessage& m, std::size_t i) { return std::get<float>(m.arguments.at(i)); }
int integer(const OscMessage& m, std::size_t i) { return std::get<std::int32_t>(m.arguments.at(i)); }
const std::string& text(const OscMessage& m, std::size_t i) { return std::get<std::string>(m.arguments.at(i)); }

std::string range_error(const char* what, double low, double high) {
    char text[96];
    std::snprintf(text, sizeof text, "%s must be %g..%g", what, low, high);
    return text;
}

std::string check_session(Daemon& daemon, int session) {
    const auto count = static_cast<int>(daemon.service().session_count());
    return session >= 1 && session <= count ? std::string() : range_error("session", 1, count);
}

// Changes one voice's settings from the message's arguments, or says why not.
using SessionChange = std::function<std::string(const OscMessage& arguments, engine::SessionSettings& settings)>;

// The configuration follows the all-sessions commands, so a recording started later logs
// the settings in force.
void remember_in_config(Daemon& daemon, const engine::SessionSettings& s) { daemon.config().engine.voice = s; }

void add_session_command(Daemon& d, const std::string& name, const std::string& tags, const std::string& help,
                         SessionChange change) {
    d.osc().add("/kanade/" + name, tags, help, [&d, change](const OscMessage& m, const OscEndpoint&) {
        auto& service = d.service();
        for (int i = 0; i < static_cast<int>(service.session_count()); ++i) {
            auto settings = service.settings(i);
            if (auto reason = change(m, settings); !reason.empty()) return reason;
            service.update_settings(i, settings);
            if (i == 0) remember_in_config(d, settings);
        }
        return std::string();
    });
    d.osc().add("/kanade/session/" + name, "i" + tags, help + " (session N, from 1, first)",
                [&d, change](const OscMessage& m, const OscEndpoint&) {
                    const int session = integer(m, 0);
                    if (auto reason = check_session(d, session); !reason.empty()) return reason;
                    OscMessage arguments{m.address, {m.arguments.begin() + 1, m.arguments.end()}};
                    auto settings = d.service().settings(session - 1);
                    if (auto reason = change(arguments, settings); !reason.empty()) return reason;
                    d.service().update_settings(session - 1, settings);
                    return std::string();
                });
}

}  // namespace

io::DaemonConfig settings_in_force(Daemon& d) {
    auto now = d.config();
    now.engine.voice = d.service().settings(0);
    now.clock.scheduler.bpm = d.scheduler().tempo();
    return now;
}

io::OscValue osc_value(const io::SettingValue& value) {
    return std::visit(
        [](const auto& v) -> io::OscValue {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::string>)
                return v;
            else if constexpr (std::is_same_v<T, double>)
                return static_cast<float>(v);
            else if constexpr (std::is_same_v<T, std::uint64_t>)
                return std::to_string(v);  // a seed does not fit an OSC int
            else
                return static_cast<std::int32_t>(v);
        },
        value);
}

SettingAddresses register_osc_commands(Daemon& d) {
    auto& osc = d.osc();
    auto reply = [&osc](const OscEndpoint& to, OscMessage message) { osc.send(to, message); };

    osc.add("/kanade/start", "", "start playing", [&d](const OscMessage&, const OscEndpoint&) {
        d.scheduler().set_playing(true);
        return std::string();
    });
    osc.add("/kanade/stop", "", "stop playing (all notes off)", [&d](const OscMessage&, const OscEndpoint&) {
        d.scheduler().set_playing(false);
        return std::string();
    });
    osc.add("/kanade/panic", "", "all notes off now", [&d](const OscMessage&, const OscEndpoint&) {
        d.scheduler().panic();
        return std::string();
    });
    osc.add("/kanade/tempo", "f", io::setting("clock.bpm").help, [&d](const OscMessage& m, const OscEndpoint&) {
        float bpm = number(m, 0);
        if (auto reason = io::out_of_range("clock.bpm", bpm, "tempo"); !reason.empty()) return reason;
        d.scheduler().set_tempo(bpm);
        d.config().clock.scheduler.bpm = bpm;
        return std::string();
    });
    // The settings of a voice: each registered twice, as /kanade/NAME for every session and
    // /kanade/session/NAME with the session number (from 1) first, for one.
    // Their bounds and help come from the one table of settings (io/settings.hpp).
    // The setting behind each address, for /kanade/get.
    auto readable = std::make_shared<SettingAddresses>(
        SettingAddresses{{"/kanade/tempo", {"clock.bpm"}},
                         {"/kanade/miss", {"engine.miss_policy"}},
                         {"/kanade/range", {"engine.lowest_pitch", "engine.highest_pitch"}}});
    auto sampling = [&d, readable](const char* name, const char* tags, const std::string& key, SessionChange change) {
        (*readable)["/kanade/" + std::string(name)] = {key};
        add_session_command(d, name, tags, io::setting(key).help, std::move(change));
    };
    sampling("temperature", "f", "engine.temperature", [](const OscMessage& m, engine::SessionSettings& s) {
        float value = number(m, 0);
        if (auto reason = io::out_of_range("engine.temperature", value, "temperature"); !reason.empty()) return reason;
        s.sampling.temperature = value;
        return std::string();
    });
    sampling("top_k", "i", "engine.top_k", [](const OscMessage& m, engine::SessionSettings& s) {
        int value = integer(m, 0);
        if (auto reason = io::out_of_range("engine.top_k", value, "top_k"); !reason.empty()) return reason;
        s.sampling.top_k = value;
        return std::string();
    });
    sampling("top_p", "f", "engine.top_p", [](const OscMessage& m, engine::SessionSettings& s) {
        float value = number(m, 0);
        if (!(value > 0 && value <= 1)) return std::string("top_p ") + io::setting("engine.top_p").rule;
        s.sampling.top_p = value;
        return std::string();
    });
    sampling("mode", "s", "engine.mode", [](const OscMessage& m, engine::SessionSettings& s) {
        try {
            s.mode = engine::parse_mode(text(m, 0));
            return std::string();
        } catch (const std::invalid_argument& error) {
            return std::string(error.what());
        }
    });
    sampling("scale", "s", "engine.scale", [](const OscMessage& m, engine::SessionSettings& s) {
        try {
            s.constraints.set_scale(text(m, 0));
            return std::string();
        } catch (const std::invalid_argument& error) {
            return std::string(error.what());
        }
    });
    add_session_command(d, "range", "ii", "lowest and highest MIDI note played",
                        [](const OscMessage& m, engine::SessionSettings& s) {
                            int low = integer(m, 0), high = integer(m, 1);
                            auto reason = io::out_of_range("engine.lowest_pitch", low, "range");
                            if (reason.empty()) reason = io::out_of_range("engine.highest_pitch", high, "range");
                            if (!reason.empty() || low > high)
                                return std::string("range must be 0 <= low <= high <= 127");
                            s.constraints.lowest_pitch = low;
                            s.constraints.highest_pitch = high;
                            return std::string();
                        });
    sampling("polyphony", "i", "engine.max_polyphony", [](const OscMessage& m, engine::SessionSettings& s) {
        int value = integer(m, 0);
        if (auto reason = io::out_of_range("engine.max_polyphony", value, "polyphony"); !reason.empty()) return reason;
        s.constraints.max_polyphony = value;
        return std::string();
    });
    sampling("density", "f", "engine.density", [](const OscMessage& m, engine::SessionSettings& s) {
        float value = number(m, 0);
        if (auto reason = io::out_of_range("engine.density", value, "density"); !reason.empty()) return reason;
        s.constraints.density = value;
        return std::string();
    });
    sampling("repetition", "f", "engine.repetition_penalty", [](const OscMessage& m, engine::SessionSettings& s) {
        float value = number(m, 0);
        if (auto reason = io::out_of_range("engine.repetition_penalty", value, "repetition"); !reason.empty())
            return reason;
        s.constraints.repetition_penalty = value;
        return std::string();
    });
    sampling("energy", "f", "engine.energy", [](const OscMessage& m, engine::SessionSettings& s) {
        float value = number(m, 0);
        if (auto reason = io::out_of_range("engine.energy", value, "energy"); !reason.empty()) return reason;
        s.constraints.energy = value;
        return std::string();
    });
    sampling("repeat", "f", "engine.repeat", [](const OscMessage& m, engine::SessionSettings& s) {
        float value = number(m, 0);
        if (auto reason = io::out_of_range("engine.repeat", value, "repeat"); !reason.empty()) return reason;
        s.repeat = value;
        return std::string();
    });
    sampling("style", "i", "engine.style", [&d](const OscMessage& m, engine::SessionSettings& s) {
        int value = integer(m, 0);
        if (auto reason = io::out_of_range("engine.style", value, "style"); !reason.empty()) return reason;
        const int styles = d.service().model()->config.styles;
        if (value > styles)
            return "style " + std::to_string(value) + ": the model has " + std::to_string(styles) + " (0..." +
                   std::to_string(styles) + ")";
        s.style = value;
        return std::string();
    });
    osc.add("/kanade/answer", "", "call-response: the call has ended, answer now",
            [&d](const OscMessage&, const OscEndpoint&) {
                for (int i = 0; i < static_cast<int>(d.service().session_count()); ++i) d.service().end_phrase(i);
                return std::string();
            });
    osc.add("/kanade/session/answer", "i", "call-response: session N's call has ended, answer now",
            [&d](const OscMessage& m, const OscEndpoint&) {
                int session = integer(m, 0);
                if (auto reason = check_session(d, session); !reason.empty()) return reason;
                d.service().end_phrase(session - 1);
                return std::string();
            });
    osc.add("/kanade/get", "s",
            "reply /kanade/get ADDRESS VALUE: the current value of a setting, by its address (/kanade/temperature) "
            "or its key (engine.temperature); session 1's",
            [&d, readable, reply](const OscMessage& m, const OscEndpoint& from) {
                const auto& asked = text(m, 0);
                const auto found = readable->find(asked);
                const auto keys = found != readable->end() ? found->second : std::vector<std::string>{asked};
                OscMessage answer{"/kanade/get", {asked}};
                auto now = settings_in_force(d);
                for (const auto& key : keys) {
                    const auto known = std::find_if(io::settings().begin(), io::settings().end(),
                                                    [&](const io::Setting& s) { return s.key == key; });
                    if (known == io::settings().end())
                        return "no setting at '" + asked +
                               "' (an address of /kanade/help, or a key of kanaded --print-config)";
                    answer.arguments.push_back(osc_value(known->get(now)));
                }
                reply(from, answer);
                return std::string();
            });
    osc.add("/kanade/learn", "s",
            "MIDI learn: the next controller moved drives this knob or button (temperature, tempo, panic ...), "
            "saved in the config file; replies /kanade/learned NAME CC CHANNEL WHERE",
            [&d](const OscMessage& m, const OscEndpoint& from) { return d.learn(text(m, 0), from); });
    osc.add("/kanade/miss", "s", "late-step policy: rest, hold or repeat",
            [&d](const OscMessage& m, const OscEndpoint&) {
                try {
                    const auto policy = clock::parse_miss_policy(text(m, 0));
                    d.scheduler().set_miss_policy(policy);
                    d.config().clock.scheduler.miss_policy = policy;
                    return std::string();
                } catch (const std::invalid_argument& error) {
                    return std::string(error.what());
                }
            });
    osc.add("/kanade/note", "iii", "play a note into the window: pitch, velocity, steps",
            [&d](const OscMessage& m, const OscEndpoint&) {
                int pitch = integer(m, 0), velocity = integer(m, 1), steps = integer(m, 2);
                if (pitch < 0 || pitch > 127) return range_error("pitch", 0, 127);
                if (velocity < 1 || velocity > 127) return range_error("velocity", 1, 127);
                if (steps < 1 || steps > 64) return range_error("steps", 1, 64);
                auto step = d.scheduler().current_step();
                for (int i = 0; i < static_cast<int>(d.service().session_count()); ++i) {
                    d.service().control_note(i, pitch, velocity, step, true);
                    d.service().control_note(i, pitch, 0, step + steps, false);
                }
                return std::string();
            });
    osc.add("/kanade/model/load", "s", "load a model file from the models folder",
            [&d](const OscMessage& m, const OscEndpoint&) { return d.load_model(text(m, 0)); });
    osc.add("/kanade/record/start", "*", "start recording [to a folder]",
            [&d](const OscMessage& m, const OscEndpoint&) {
                std::string dir = d.config().record.dir.empty() ? "recordings" : d.config().record.dir;
                if (!m.arguments.empty()) {
                    if (!std::holds_alternative<std::string>(m.arguments[0]))
                        return std::string("expected a folder name (s)");
                    dir = text(m, 0);
                }
                return d.start_recording(dir);
            });
    osc.add("/kanade/record/stop", "", "stop recording",
            [&d](const OscMessage&, const OscEndpoint&) { return d.stop_recording(); });
    osc.add("/kanade/subscribe", "",
            "stream to the sender: /kanade/played on channel pitch velocity for each note played, "
            "/kanade/planned channel pitch velocity step length_steps in_ms for each note planned, "
            "/kanade/replanned channel step when an accompany re-plan voids what was planned from that step on",
            [&d](const OscMessage&, const OscEndpoint& from) {
                d.subscribe(from);
                return std::string();
            });
    osc.add("/kanade/unsubscribe", "", "stop streaming notes to the sender",
            [&d](const OscMessage&, const OscEndpoint& from) {
                d.unsubscribe(from);
                return std::string();
            });
    osc.add("/kanade/status", "",
            "reply: tempo, mode, model, its styles and session 1's, device, playing, clock (internal, midi or link), "
            "link_peers (-1: Link off), steps, late steps, inference p50/p99, timing p99, from a player's note "
            "to the first step and to kanade's first note planned with it (player_to_step, player_to_machine), "
            "accompany re-plans (replans), "
            "recording",
            [&d, reply](const OscMessage&, const OscEndpoint& from) {
                auto scheduler = d.scheduler().stats();
                const auto recording = d.record_counters();
                auto count = [](std::uint64_t value) {  // OSC int32, saturated
                    return static_cast<std::int32_t>(std::min<std::uint64_t>(value, 0x7FFFFFFF));
                };
                auto inference = d.service().stats();
                auto model = d.service().model();
                reply(from, OscMessage{"/kanade/status",
                                       {std::string("tempo"),
                                        static_cast<float>(d.scheduler().tempo()),
                                        std::string("mode"),
                                        std::string(engine::mode_name(d.config().engine.voice.mode)),
                                        std::string("model"),
                                        model->config.arch + "/" + model->tokenizer,
                                        std::string("model_file"),
                                        d.model_file(),
                                        std::string("styles"),
                                        static_cast<std::int32_t>(model->config.styles),
                                        std::string("style"),
                                        static_cast<std::int32_t>(d.service().settings(0).style),
                                        std::string("device"),
                                        inference.device,
                                        std::string("playing"),
                                        static_cast<std::int32_t>(d.scheduler().playing()),
                                        std::string("clock"),
                                        d.clock_leader(),
                                        std::string("link_peers"),
                                        static_cast<std::int32_t>(d.link() ? d.link()->peers() : -1),
                                        std::string("steps"),
                                        static_cast<std::int32_t>(scheduler.steps),
                                        std::string("late"),
                                        static_cast<std::int32_t>(scheduler.late_steps),
                                        std::string("notes"),
                                        static_cast<std::int32_t>(scheduler.notes),
                                        std::string("inference_p50_ms"),
                                        static_cast<float>(inference.p50_ms),
                                        std::string("inference_p99_ms"),
                                        static_cast<float>(inference.p99_ms),
                                        std::string("timing_p99_ms"),
                                        static_cast<float>(scheduler.timing_p99_ms),
                                        std::string("player_to_step_p50_ms"),
                                        static_cast<float>(scheduler.player_to_step.p50_ms),
                                        std::string("player_to_step_p99_ms"),
                                        static_cast<float>(scheduler.player_to_step.p99_ms),
                                        std::string("player_to_machine_p50_ms"),
                                        static_cast<float>(scheduler.player_to_machine.p50_ms),
                                        std::string("player_to_machine_p99_ms"),
                                        static_cast<float>(scheduler.player_to_machine.p99_ms),
                                        std::string("player_to_machine_count"),
                                        count(scheduler.player_to_machine.count),
                                        std::string("replans"),
                                        count(inference.replans),
                                        std::string("record_errors"),
                                        count(recording.write_errors),
                                        std::string("record_events"),
                                        count(recording.events),
                                        std::string("record_dropped"),
                                        count(recording.dropped),
                                        std::string("record_held"),
                                        count(recording.held_events),
                                        std::string("record_flush_bytes"),
                                        count(recording.last_flush_bytes),
                                        std::string("record_flush_us"),
                                        count(recording.last_flush_us)}});
                return std::string();
            });
    osc.add("/kanade/help", "", "reply: every address and what it does",
            [&osc, reply](const OscMessage&, const OscEndpoint& from) {
                for (const auto& command : osc.commands())
                    reply(from, OscMessage{"/kanade/help", {command.address, command.help}});
                return std::string();
            });
    return *readable;
}

}  // namespace kanade::daemon
