// What the kanaded end-to-end tests share: the binary, a config written for a test
// (JACK MIDI, no audio, OSC on a free port), and waiting for the daemon to answer.
#pragma once

#include "io/child_process.hpp"
#include "io/jack_server.hpp"
#include "io/osc_test_client.hpp"
#include "test_paths.hpp"
#include "skip.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace kanade::test {

using namespace std::chrono_literals;

inline const auto kanaded_binary = binary_dir / "bin" / "kanaded";
inline const auto default_model = source_dir / "models" / "default.kmodel";

// `engine_extra` and `clock_extra`: more TOML lines for those sections. OSCQuery's HTTP
// server is off unless given a port (tests run side by side).
inline std::filesystem::path write_config(const TemporaryFolder& folder, int osc_port, const std::string& mode,
                                          const std::string& engine_extra = "", double bpm = 120,
                                          const std::string& clock_extra = "",
                                          const std::filesystem::path& model = default_model, int web_port = 0) {
    auto path = folder / "kanade.toml";
    std::ofstream(path) << "[model]\npath = \"" << model.string() << "\"\ndevice = \"cpu\"\nthreads = 1\n"
                        << "[engine]\nmode = \"" << mode << "\"\nseed = 7\ntemperature = 0.9\n"
                        << "phrase_end_silence_steps = 4\nanswer_steps = 8\n"
                        << engine_extra << "[clock]\nbpm = " << bpm << "\nrealtime_priority = false\n"
                        << clock_extra << "[midi]\nbackend = \"jack\"\n[audio]\nbackend = \"none\"\n"
                        << "[osc]\nport = " << osc_port << "\n[web]\nport = " << web_port << "\n";
    return path;
}

// How long a long-running test plays: the environment variable's seconds (at least
// `shortest`), or two minutes.
inline int seconds_from_environment(const char* variable, int shortest) {
    const char* text = std::getenv(variable);
    return text ? std::max(shortest, std::atoi(text)) : 120;
}

// Waits until kanaded answers /kanade/status; returns the reply.
inline std::optional<io::OscMessage> wait_for_status(const OscTestClient& osc, ChildProcess& daemon) {
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline && daemon.running()) {
        if (auto status = osc.request({"/kanade/status", {}}, "/kanade/status", 300ms)) return status;
    }
    return std::nullopt;
}

inline std::int32_t status_int(const io::OscMessage& status, const std::string& key) {
    auto value = status_value(status, key);
    return value ? std::get<std::int32_t>(*value) : -1;
}

// A /kanade/status value of that type: -1 or "" when it is missing or of another type.
inline float status_float(const io::OscMessage& status, const std::string& key) {
    auto value = status_value(status, key);
    return value && std::holds_alternative<float>(*value) ? std::get<float>(*value) : -1.0F;
}

inline std::string status_text(const io::OscMessage& status, const std::string& key) {
    auto value = status_value(status, key);
    return value && std::holds_alternative<std::string>(*value) ? std::get<std::string>(*value) : "";
}

inline bool have_servers() {
    if (!JackServer::available()) {
        skip("jackd", "jackd is not installed");
        return false;
    }
    if (!std::filesystem::exists(kanaded_binary)) {
        skip("kanaded", "no kanaded at " + kanaded_binary.string());
        return false;
    }
    return true;
}

// Resident memory of a process, KiB (-1 when it cannot be read).
inline long resident_kib(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return -1;
}

// A player's note on `client`: on, held for `held`, off.
inline void play_note(JackMidiClient& client, int pitch, int velocity, std::chrono::milliseconds held) {
    std::uint8_t on[] = {0x90, static_cast<std::uint8_t>(pitch), static_cast<std::uint8_t>(velocity)};
    std::uint8_t off[] = {0x80, static_cast<std::uint8_t>(pitch), 0};
    client.send_event(on, 3);
    std::this_thread::sleep_for(held);
    client.send_event(off, 3);
}

// Notes left hanging in `messages`, as channel * 128 + pitch: note-ons without their off.
inline std::vector<int> hanging_notes(const std::vector<midi::Message>& messages) {
    std::map<int, int> sounding;
    for (const auto& message : messages) {
        const int key = message.channel() * 128 + message.bytes[1];
        if (message.is_note_on()) ++sounding[key];
        if (message.is_note_off()) sounding[key] = std::max(0, sounding[key] - 1);
    }
    std::vector<int> hanging;
    for (const auto& [key, count] : sounding)
        if (count > 0) hanging.push_back(key);
    return hanging;
}

// Checks that every note-on in `messages` was ended, naming any that was not.
inline void check_nothing_hangs(const std::vector<midi::Message>& messages, const std::string& log = "") {
    auto hanging = hanging_notes(messages);
    for (int key : hanging) {
        std::int64_t last_on = 0;
        for (const auto& m : messages)
            if (m.is_note_on() && m.channel() * 128 + m.bytes[1] == key) last_on = m.time_ns;
        MESSAGE("hanging: channel " << key / 128 + 1 << " pitch " << key % 128 << ", its last note-on "
                                    << (messages.back().time_ns - last_on) / 1e6 << " ms before the last message");
    }
    CHECK_MESSAGE(hanging.empty(), log);
}

// jackd (dummy backend), a config in a temporary folder, kanaded on them and an OSC
// client; start() returns once kanaded answers /kanade/status.
class KanadedOnJack {
public:
    bool start(const std::string& mode, const std::string& engine_extra = "", double bpm = 120,
               const std::string& clock_extra = "") {
        auto config = write_config(folder, port, mode, engine_extra, bpm, clock_extra, model, web_port);
        daemon = std::make_unique<ChildProcess>(
            std::vector<std::string>{kanaded_binary.string(), "--config", config.string()}, folder / "kanaded.log");
        return wait_for_status(osc, *daemon).has_value();
    }
    std::optional<io::OscMessage> status() const { return osc.request({"/kanade/status", {}}, "/kanade/status"); }
    // SIGTERM, then the exit code (none if it did not stop within 10 s).
    std::optional<int> terminate() {
        daemon->signal(SIGTERM);
        return daemon->wait_for_exit(std::chrono::seconds(10));
    }
    std::string output() const { return daemon ? daemon->output() : std::string(); }

    JackServer jack;
    TemporaryFolder folder;
    int port = free_udp_port();
    std::filesystem::path model = default_model;  // set before start()
    int web_port = 0;                             // [web] port, 0: off
    OscTestClient osc{port};
    std::unique_ptr<ChildProcess> daemon;
};

}  // namespace kanade::test
