#include "kanade/io/midi_ports.hpp"

#include "midi_backend.hpp"

#include <filesystem>
#include <stdexcept>
#include <thread>

namespace kanade::io {

using detail::MidiShared;

MidiPorts::MidiPorts(const MidiPortsConfig& config) : shared_(std::make_unique<MidiShared>()) {
    const auto& name = config.backend;
    if (name != "auto" && name != "alsa" && name != "jack" && name != "none")
        throw std::invalid_argument("unknown MIDI backend '" + name + "' (auto, alsa, jack or none)");

    if (name == "none") {
        none_reason_ = "MIDI ports off (backend none)";
        return;
    }
    if (name == "jack") {
        // Kept even without a server: maintain() opens the ports once one starts.
        backend_ = detail::make_jack_backend(*shared_, config);
        backend_name_ = "jack";
        return;
    }
    if (name == "alsa") {
        backend_name_ = "alsa";
        try {
            backend_ = detail::make_alsa_backend(*shared_, config);
        } catch (const std::exception& error) {
            none_reason_ = std::string("alsa: cannot open the ALSA sequencer: ") + error.what();
        }
        return;
    }

    std::string why;
    std::error_code ignored;
    if (std::filesystem::exists("/dev/snd/seq", ignored)) {
        try {
            backend_ = detail::make_alsa_backend(*shared_, config);
            backend_name_ = "alsa";
            return;
        } catch (const std::exception& error) {
            why = std::string("ALSA sequencer failed (") + error.what() + ")";
        }
    } else {
        why = "no ALSA sequencer (/dev/snd/seq)";
    }
    auto jack = detail::make_jack_backend(*shared_, config);
    if (jack->available()) {
        backend_ = std::move(jack);
        backend_name_ = "jack";
        return;
    }
    // auto settles for none: a daemon without MIDI still plays through its synthesizer.
    none_reason_ = why + " and no JACK server running";
}

MidiPorts::~MidiPorts() {
    shared_->output_open.store(false, std::memory_order_release);
    backend_.reset();  // stops the backend's threads before the queues go
}

bool MidiPorts::available() const { return backend_ && backend_->available(); }

std::string MidiPorts::backend() const { return backend_name_; }

std::string MidiPorts::status() const { return backend_ ? backend_->status() : none_reason_; }

bool MidiPorts::pop_input(midi::Message& message) { return shared_->input.pop(message); }

bool MidiPorts::drain(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    auto& shared = *shared_;
    auto open = [&] { return shared.output_open.load(std::memory_order_acquire); };
    while (shared.output.size() > 0 && open()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (!shared.delivers_by_cycle.load(std::memory_order_acquire)) return true;  // ALSA: sent is delivered
    // Popped is not yet delivered: JACK hands the events on when the cycle that wrote them
    // ends. Two more cycles make sure, however late the server runs under load.
    const auto popped_by = shared.cycles.load(std::memory_order_acquire) + 2;
    while (shared.cycles.load(std::memory_order_acquire) < popped_by && open()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

bool MidiPorts::send(const midi::Message& message) {
    auto& shared = *shared_;
    if (message.size == 0 || message.size > 3 || !shared.output_open.load(std::memory_order_acquire) ||
        !shared.output.push(message)) {
        MidiShared::count(shared.output_dropped);
        return false;
    }
    if (shared.wake_on_send.load(std::memory_order_acquire)) ::sem_post(&shared.output_wakeup);
    return true;
}

bool MidiPorts::maintain() { return backend_ && backend_->maintain(); }

MidiPorts::Counters MidiPorts::counters() const {
    const auto& shared = *shared_;
    Counters counters;
    counters.received = shared.received.load(std::memory_order_relaxed);
    counters.sent = shared.sent.load(std::memory_order_relaxed);
    counters.input_dropped = shared.input_dropped.load(std::memory_order_relaxed);
    counters.output_dropped = shared.output_dropped.load(std::memory_order_relaxed);
    counters.sysex_dropped = shared.sysex_dropped.load(std::memory_order_relaxed);
    counters.reconnects = shared.reconnects.load(std::memory_order_relaxed);
    return counters;
}

}  // namespace kanade::io
