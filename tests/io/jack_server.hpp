// Test fixtures for JACK: JackServer runs a private `jackd -d dummy` (its own server name,
// exported in JACK_DEFAULT_SERVER so this process's clients find it) and stops it with the
// object; JackMidiClient is a libjack client with MIDI ports "in"/"out" that a test drives.
#pragma once

#include "kanade/clock/spsc_queue.hpp"
#include "kanade/midi/message.hpp"

#include <jack/jack.h>
#include <jack/midiport.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <spawn.h>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace kanade::test {

namespace jack_detail {

inline void ignore_jack_message(const char*) {}

// Waiting for a server means failed connection attempts, each of which libjack prints.
inline void silence_libjack() {
    jack_set_error_function(ignore_jack_message);
    jack_set_info_function(ignore_jack_message);
}

inline std::int64_t monotonic_ns() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

// The CLOCK_MONOTONIC time of frame 0 of the current cycle, as kanade's backend reckons it.
inline std::int64_t cycle_start_ns(jack_client_t* client) {
    std::int64_t now = monotonic_ns();
    jack_nframes_t frames = 0;
    jack_time_t current = 0, next = 0;
    float period = 0;
    if (jack_get_cycle_times(client, &frames, &current, &next, &period) != 0) return now;
    return static_cast<std::int64_t>(current) * 1000 + (now - static_cast<std::int64_t>(jack_get_time()) * 1000);
}

inline std::string unique_server_name() {
    static std::atomic<int> counter{0};
    return "kanade-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

}  // namespace jack_detail

// Points this process's JACK clients at a server name of its own (none runs there unless a
// JackServer starts it); puts the previous JACK_DEFAULT_SERVER back at the end.
class ScopedJackServerName {
public:
    explicit ScopedJackServerName(std::string name = jack_detail::unique_server_name()) : name_(std::move(name)) {
        if (const char* previous = std::getenv("JACK_DEFAULT_SERVER")) previous_ = previous;
        ::setenv("JACK_DEFAULT_SERVER", name_.c_str(), 1);
    }
    ~ScopedJackServerName() {
        if (previous_)
            ::setenv("JACK_DEFAULT_SERVER", previous_->c_str(), 1);
        else
            ::unsetenv("JACK_DEFAULT_SERVER");
    }
    ScopedJackServerName(const ScopedJackServerName&) = delete;
    ScopedJackServerName& operator=(const ScopedJackServerName&) = delete;
    const std::string& name() const { return name_; }

private:
    std::string name_;
    std::optional<std::string> previous_;
};

class JackServer {
public:
    static bool available() {
        const char* path = std::getenv("PATH");
        std::string directories = path ? path : "/usr/bin:/bin";
        std::size_t start = 0;
        while (start <= directories.size()) {
            auto end = directories.find(':', start);
            if (end == std::string::npos) end = directories.size();
            auto candidate = std::filesystem::path(directories.substr(start, end - start)) / "jackd";
            if (::access(candidate.c_str(), X_OK) == 0) return true;
            start = end + 1;
        }
        return false;
    }

    JackServer() : log_(std::filesystem::temp_directory_path() / (name_.name() + ".log")) {
        jack_detail::silence_libjack();
        start();
    }
    ~JackServer() {
        stop(SIGTERM);
        std::error_code ignored;
        std::filesystem::remove(log_, ignored);
    }
    JackServer(const JackServer&) = delete;
    JackServer& operator=(const JackServer&) = delete;

    const std::string& name() const { return name_.name(); }
    bool running() const { return pid_ > 0; }

    // Starts jackd and waits until it takes clients; throws with jackd's output if it does not.
    void start() {
        if (running()) return;
        const std::vector<std::string> argv = {"jackd", "-n", name(), "--no-realtime", "--sync", "-d", "dummy", "-r",
                                               "48000", "-p", "256"};
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&actions, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        std::vector<char*> args;
        for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
        args.push_back(nullptr);
        // environ carries JACK_DEFAULT_SERVER too (ScopedJackServerName set it).
        const int error = ::posix_spawnp(&pid_, "jackd", &actions, nullptr, args.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (error != 0) {
            pid_ = -1;
            throw std::runtime_error("cannot start jackd: " + std::string(std::strerror(error)));
        }
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < deadline) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                throw std::runtime_error("jackd exited at start:\n" + log());
            }
            jack_status_t open_status{};
            if (jack_client_t* probe = jack_client_open("kanade-test-probe", JackNoStartServer, &open_status)) {
                jack_client_close(probe);
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        stop(SIGKILL);
        throw std::runtime_error("jackd took no clients within 10 s:\n" + log());
    }

    // SIGTERM lets jackd tell its clients; SIGKILL is a crash. Either way it is gone after.
    void stop(int signal_number = SIGTERM) {
        if (!running()) return;
        ::kill(pid_, signal_number);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        int status = 0;
        while (::waitpid(pid_, &status, WNOHANG) != pid_) {
            if (std::chrono::steady_clock::now() >= deadline) {
                ::kill(pid_, SIGKILL);
                ::waitpid(pid_, &status, 0);
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        pid_ = -1;
    }

    void restart(int signal_number = SIGTERM) {
        stop(signal_number);
        start();
    }

    std::string log() const {
        std::ifstream in(log_);
        return {std::istreambuf_iterator<char>(in), {}};
    }

private:
    ScopedJackServerName name_;
    std::filesystem::path log_;
    pid_t pid_ = -1;
};

// A JACK client "<name>" with MIDI ports in and out. Messages it sends go out in the next
// cycles (as many as fit in a port buffer per cycle, at increasing frames); what arrives on
// its input is stamped like kanade stamps it. Test threads call everything but process().
class JackMidiClient {
public:
    static constexpr std::size_t max_event_size = 256;
    struct Event {  // one JACK MIDI event as queued: trivially copyable for the SPSC queue
        std::uint16_t size = 0;
        std::uint8_t bytes[max_event_size] = {};
    };

    explicit JackMidiClient(const std::string& name = "tester")
        : outgoing_(std::make_unique<OutgoingQueue>()), incoming_(std::make_unique<IncomingQueue>()) {
        jack_status_t open_status{};
        client_ = jack_client_open(name.c_str(), static_cast<jack_options_t>(JackNoStartServer | JackUseExactName),
                                   &open_status);
        if (!client_) throw std::runtime_error("JackMidiClient: cannot open client " + name);
        in_ = jack_port_register(client_, "in", JACK_DEFAULT_MIDI_TYPE, JackPortIsInput, 0);
        out_ = jack_port_register(client_, "out", JACK_DEFAULT_MIDI_TYPE, JackPortIsOutput, 0);
        jack_set_process_callback(client_, &JackMidiClient::process, this);
        if (!in_ || !out_ || jack_activate(client_) != 0) {
            jack_client_close(client_);
            throw std::runtime_error("JackMidiClient: cannot set up client " + name);
        }
    }
    ~JackMidiClient() { jack_client_close(client_); }
    JackMidiClient(const JackMidiClient&) = delete;
    JackMidiClient& operator=(const JackMidiClient&) = delete;

    jack_client_t* client() const { return client_; }
    std::string in_name() const { return jack_port_name(in_); }
    std::string out_name() const { return jack_port_name(out_); }

    bool connect(const std::string& source, const std::string& destination) {
        const int result = jack_connect(client_, source.c_str(), destination.c_str());
        return result == 0 || result == EEXIST;
    }
    bool port_exists(const std::string& name) const { return jack_port_by_name(client_, name.c_str()) != nullptr; }
    bool connected(const std::string& ours, const std::string& other) const {
        jack_port_t* port = jack_port_by_name(client_, ours.c_str());
        return port && jack_port_connected_to(port, other.c_str());
    }

    // Queues one JACK event (at most max_event_size bytes); false if it does not fit.
    bool send_event(const std::uint8_t* bytes, std::size_t size) {
        if (size == 0 || size > max_event_size) return false;
        Event event;
        event.size = static_cast<std::uint16_t>(size);
        std::copy(bytes, bytes + size, event.bytes);
        return outgoing_->push(event);
    }
    bool send_event(const std::vector<std::uint8_t>& bytes) { return send_event(bytes.data(), bytes.size()); }
    bool send(const midi::Message& message) { return send_event(message.bytes, message.size); }
    // A long message (SysEx) as consecutive events of chunk_size bytes, as a driver splits it.
    bool send_split(const std::vector<std::uint8_t>& bytes, std::size_t chunk_size = max_event_size) {
        for (std::size_t offset = 0; offset < bytes.size(); offset += chunk_size)
            if (!send_event(bytes.data() + offset, std::min(chunk_size, bytes.size() - offset))) return false;
        return true;
    }
    std::size_t unsent() const { return outgoing_->size(); }
    bool wait_until_sent(std::chrono::milliseconds limit = std::chrono::seconds(5)) const {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (unsent() > 0 && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        return unsent() == 0;
    }

    // Short messages received so far (waiting up to `limit` for at least `count`).
    std::vector<midi::Message> received(std::size_t count = 0,
                                        std::chrono::milliseconds limit = std::chrono::seconds(3)) {
        std::lock_guard lock(mutex_);
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (true) {
            midi::Message message;
            while (incoming_->pop(message)) collected_.push_back(message);
            if (collected_.size() >= count || std::chrono::steady_clock::now() >= deadline) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        return collected_;
    }
    std::uint64_t long_events() const { return long_events_.load(); }
    std::uint64_t incoming_dropped() const { return incoming_dropped_.load(); }

private:
    using OutgoingQueue = clock::SpscQueue<Event, 16384>;
    using IncomingQueue = clock::SpscQueue<midi::Message, 16384>;

    // Real-time: only the SPSC queues and atomics.
    static int process(jack_nframes_t nframes, void* self_pointer) {
        auto& self = *static_cast<JackMidiClient*>(self_pointer);
        const std::int64_t cycle_start = jack_detail::cycle_start_ns(self.client_);
        const double ns_per_frame = 1e9 / jack_get_sample_rate(self.client_);

        void* in = jack_port_get_buffer(self.in_, nframes);
        const std::uint32_t count = jack_midi_get_event_count(in);
        for (std::uint32_t i = 0; i < count; ++i) {
            jack_midi_event_t event;
            if (jack_midi_event_get(&event, in, i) != 0) continue;
            if (event.size > 3) {
                self.long_events_.fetch_add(1);
                continue;
            }
            midi::Message message;
            std::copy(event.buffer, event.buffer + event.size, message.bytes);
            message.size = static_cast<std::uint8_t>(event.size);
            message.time_ns = cycle_start + static_cast<std::int64_t>(event.time * ns_per_frame + 0.5);
            if (!self.incoming_->push(message)) self.incoming_dropped_.fetch_add(1);
        }

        void* out = jack_port_get_buffer(self.out_, nframes);
        jack_midi_clear_buffer(out);
        jack_nframes_t frame = 0;
        while (const Event* event = self.outgoing_->peek()) {
            // Check the room first: a failed write would count as a lost event at the receiver.
            if (jack_midi_max_event_size(out) < event->size) break;
            if (jack_midi_event_write(out, frame, event->bytes, event->size) != 0) break;
            Event done;
            self.outgoing_->pop(done);
            if (frame + 1 < nframes) ++frame;
        }
        return 0;
    }

    jack_client_t* client_ = nullptr;
    jack_port_t* in_ = nullptr;
    jack_port_t* out_ = nullptr;
    std::unique_ptr<OutgoingQueue> outgoing_;
    std::unique_ptr<IncomingQueue> incoming_;
    std::atomic<std::uint64_t> long_events_{0};
    std::atomic<std::uint64_t> incoming_dropped_{0};
    std::mutex mutex_;
    std::vector<midi::Message> collected_;
};

}  // namespace kanade::test
