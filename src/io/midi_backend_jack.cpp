// The JACK backend: one client with a MIDI input and a MIDI output port, written with
// libjack directly because RtMidi opens one client per port. The process callback moves
// messages between the ports and the shared queues; maintain() reopens after the server
// went away and connects the configured patterns.
#include "midi_backend.hpp"

#include <jack/jack.h>
#include <jack/midiport.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <set>

namespace kanade::io::detail {
namespace {

static_assert(std::atomic<double>::is_always_lock_free, "the process callback reads the frame length without locks");

void ignore_jack_message(const char*) {}

// libjack prints every failed connection attempt; maintain() tries once a second while
// the server is away, and status() says so once instead.
void silence_libjack() {
    static std::once_flag once;
    std::call_once(once, [] {
        jack_set_error_function(ignore_jack_message);
        jack_set_info_function(ignore_jack_message);
    });
}

std::string server_name() {
    const char* name = std::getenv("JACK_DEFAULT_SERVER");
    return name && *name ? name : "default";
}

class JackBackend final : public MidiBackend {
public:
    JackBackend(MidiShared& shared, const MidiPortsConfig& config) : shared_(shared), config_(config) {
        silence_libjack();
        if (!open()) set_status("jack: no JACK server running (server '" + server_name() + "'); waiting for one");
    }

    ~JackBackend() override { close(); }

    bool available() const override { return open_.load(std::memory_order_acquire); }

    std::string status() const override {
        std::lock_guard lock(status_mutex_);
        return status_;
    }

    bool maintain() override {
        bool changed = false;
        if (client_ && server_gone_.load(std::memory_order_acquire)) {
            close();
            set_status("jack: the JACK server went away; waiting for it to come back");
            changed = true;
        }
        if (!client_) {
            if (!open()) return changed;
            MidiShared::count(shared_.reconnects);
            return true;
        }
        if (connect_new_ports()) {
            set_status(describe());
            changed = true;
        }
        return changed;
    }

private:
    bool open() {
        jack_status_t open_status{};
        const auto options = static_cast<jack_options_t>(JackNoStartServer | JackUseExactName);
        client_ = jack_client_open(config_.client_name.c_str(), options, &open_status);
        if (!client_) {
            if (open_status & JackNameNotUnique)
                set_status("jack: a client named '" + config_.client_name + "' already exists; retrying");
            return false;
        }
        server_gone_.store(false, std::memory_order_release);
        ns_per_frame_.store(1e9 / jack_get_sample_rate(client_), std::memory_order_relaxed);
        jack_set_process_callback(client_, &JackBackend::process, this);
        jack_set_sample_rate_callback(client_, &JackBackend::sample_rate_changed, this);
        jack_on_info_shutdown(client_, &JackBackend::shut_down, this);
        in_port_ = jack_port_register(client_, "in", JACK_DEFAULT_MIDI_TYPE, JackPortIsInput, 0);
        out_port_ = jack_port_register(client_, "out", JACK_DEFAULT_MIDI_TYPE, JackPortIsOutput, 0);
        if (!in_port_ || !out_port_) {
            close();
            set_status("jack: cannot register the MIDI ports");
            return false;
        }
        parser_.reset();
        // Nothing consumes the output queue until activation, so this thread may: what is
        // left from before the server went away is too late to play.
        midi::Message stale;
        while (shared_.output.pop(stale)) MidiShared::count(shared_.output_dropped);
        if (jack_activate(client_) != 0) {
            close();
            set_status("jack: cannot activate the client");
            return false;
        }
        open_.store(true, std::memory_order_release);
        shared_.delivers_by_cycle.store(true, std::memory_order_release);
        shared_.output_open.store(true, std::memory_order_release);
        known_ports_.clear();
        connect_new_ports();
        set_status(describe());
        return true;
    }

    void close() {
        shared_.output_open.store(false, std::memory_order_release);
        open_.store(false, std::memory_order_release);
        if (!client_) return;
        // After a shutdown the server is gone and the client is a husk; closing it only
        // frees what libjack holds.
        if (!server_gone_.load(std::memory_order_acquire)) jack_deactivate(client_);
        jack_client_close(client_);
        client_ = nullptr;
        in_port_ = out_port_ = nullptr;
    }

    std::string describe() const {
        auto count = [](jack_port_t* port) {
            const char** names = jack_port_get_connections(port);
            int n = 0;
            if (names) {
                while (names[n]) ++n;
                jack_free(names);
            }
            return n;
        };
        return "jack: " + std::string(jack_port_name(in_port_)) + " (" + std::to_string(count(in_port_)) +
               " connected), " + jack_port_name(out_port_) + " (" + std::to_string(count(out_port_)) +
               " connected), server '" + server_name() + "'";
    }

    // Connects the patterns to ports that appeared since the last call only, so that a
    // connection someone took down by hand stays down.
    bool connect_new_ports() {
        if (config_.connect_in.empty() && config_.connect_out.empty()) return false;
        const char** names = jack_get_ports(client_, nullptr, JACK_DEFAULT_MIDI_TYPE, 0);
        if (!names) {
            known_ports_.clear();
            return false;
        }
        const std::string own_prefix = std::string(jack_get_client_name(client_)) + ":";
        const std::string in_name = jack_port_name(in_port_);
        const std::string out_name = jack_port_name(out_port_);
        std::set<std::string> present;
        bool changed = false;
        for (int i = 0; names[i]; ++i) {
            std::string name = names[i];
            present.insert(name);
            if (known_ports_.count(name) || name.rfind(own_prefix, 0) == 0) continue;
            jack_port_t* port = jack_port_by_name(client_, names[i]);
            if (!port) continue;
            const int flags = jack_port_flags(port);
            if (!config_.connect_in.empty() && (flags & JackPortIsOutput) &&
                name.find(config_.connect_in) != std::string::npos)
                changed |= jack_connect(client_, names[i], in_name.c_str()) == 0;
            if (!config_.connect_out.empty() && (flags & JackPortIsInput) &&
                name.find(config_.connect_out) != std::string::npos)
                changed |= jack_connect(client_, out_name.c_str(), names[i]) == 0;
        }
        jack_free(names);
        known_ports_ = std::move(present);
        return changed;
    }

    void set_status(std::string text) {
        std::lock_guard lock(status_mutex_);
        status_ = std::move(text);
    }

    // Real-time: no locks, no allocation.
    static int process(jack_nframes_t nframes, void* self_pointer) {
        auto& self = *static_cast<JackBackend*>(self_pointer);
        const double ns_per_frame = self.ns_per_frame_.load(std::memory_order_relaxed);
        // Frame f of this cycle is time cycle_start + f on both ports (JACK's own mapping,
        // jack_frames_to_time(last_frame_time + f)), so a time stamp survives a round trip.
        std::int64_t cycle_start = clock::monotonic_ns();
        jack_nframes_t current_frames = 0;
        jack_time_t current_usecs = 0, next_usecs = 0;
        float period_usecs = 0;
        if (jack_get_cycle_times(self.client_, &current_frames, &current_usecs, &next_usecs, &period_usecs) == 0) {
            const std::int64_t jack_to_monotonic = cycle_start - static_cast<std::int64_t>(jack_get_time()) * 1000;
            cycle_start = static_cast<std::int64_t>(current_usecs) * 1000 + jack_to_monotonic;
        }
        self.receive(jack_port_get_buffer(self.in_port_, nframes), cycle_start, ns_per_frame);
        self.transmit(jack_port_get_buffer(self.out_port_, nframes), nframes, cycle_start, ns_per_frame);
        self.shared_.cycles.fetch_add(1, std::memory_order_release);
        return 0;
    }

    void receive(void* buffer, std::int64_t cycle_start, double ns_per_frame) {
        const std::uint32_t count = jack_midi_get_event_count(buffer);
        for (std::uint32_t i = 0; i < count; ++i) {
            jack_midi_event_t event;
            if (jack_midi_event_get(&event, buffer, i) != 0) continue;
            const auto time_ns = cycle_start + static_cast<std::int64_t>(std::llround(event.time * ns_per_frame));
            parser_.feed(event.buffer, event.size, time_ns, shared_);
        }
        // Events the sender could not fit into the port buffer never reached us.
        if (const auto lost = jack_midi_get_lost_event_count(buffer)) MidiShared::count(shared_.input_dropped, lost);
    }

    void transmit(void* buffer, jack_nframes_t nframes, std::int64_t cycle_start, double ns_per_frame) {
        jack_midi_clear_buffer(buffer);
        jack_nframes_t frame_floor = 0;  // JACK wants the events of a cycle in time order
        while (const midi::Message* next = shared_.output.peek()) {
            jack_nframes_t frame = 0;
            const std::int64_t ahead = next->time_ns - cycle_start;
            if (ahead > 0 && ahead < max_output_ahead_ns) {
                const double offset = static_cast<double>(ahead) / ns_per_frame;
                if (offset >= nframes) break;  // due in a later cycle
                frame = static_cast<jack_nframes_t>(offset);
            }
            frame = std::max(frame, frame_floor);
            frame_floor = frame;
            midi::Message message;
            shared_.output.pop(message);
            if (jack_midi_event_write(buffer, frame, message.bytes, message.size) == 0)
                MidiShared::count(shared_.sent);
            else
                MidiShared::count(shared_.output_dropped);  // port buffer full this cycle
        }
    }

    static int sample_rate_changed(jack_nframes_t rate, void* self_pointer) {
        if (rate > 0)
            static_cast<JackBackend*>(self_pointer)->ns_per_frame_.store(1e9 / rate, std::memory_order_relaxed);
        return 0;
    }

    // Called on a libjack thread when the server quits or drops us; the client may only be
    // closed from outside its callbacks, so maintain() does it.
    static void shut_down(jack_status_t, const char*, void* self_pointer) {
        auto& self = *static_cast<JackBackend*>(self_pointer);
        self.shared_.output_open.store(false, std::memory_order_release);
        self.open_.store(false, std::memory_order_release);
        self.server_gone_.store(true, std::memory_order_release);
    }

    MidiShared& shared_;
    const MidiPortsConfig config_;
    jack_client_t* client_ = nullptr;
    jack_port_t* in_port_ = nullptr;
    jack_port_t* out_port_ = nullptr;
    std::atomic<bool> open_{false};
    std::atomic<bool> server_gone_{false};
    std::atomic<double> ns_per_frame_{1e9 / 48000};
    MidiInputParser parser_;  // the process thread's
    std::set<std::string> known_ports_;
    mutable std::mutex status_mutex_;
    std::string status_;
};

}  // namespace

std::unique_ptr<MidiBackend> make_jack_backend(MidiShared& shared, const MidiPortsConfig& config) {
    return std::make_unique<JackBackend>(shared, config);
}

}  // namespace kanade::io::detail
