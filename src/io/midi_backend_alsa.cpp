// The ALSA sequencer backend: RtMidi virtual ports "in" and "out" (RtMidi makes one ALSA
// client per port, both named after client_name). RtMidi's input thread feeds the input
// queue; a sender thread drains the output queue, since RtMidiOut::sendMessage may block.
// connect_in/connect_out are applied with libasound subscriptions, as aconnect does.
#include "midi_backend.hpp"

#include <alsa/asoundlib.h>
#include <rtmidi/RtMidi.h>

#include <cerrno>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <unistd.h>
#include <vector>

namespace kanade::io::detail {
namespace {

class AlsaBackend final : public MidiBackend {
public:
    AlsaBackend(MidiShared& shared, const MidiPortsConfig& config) : shared_(shared), config_(config) {
        // Checked first: RtMidi and libasound would each print their own complaint.
        if (::access("/dev/snd/seq", R_OK | W_OK) != 0) throw std::runtime_error("no ALSA sequencer (/dev/snd/seq)");
        // RtMidiError is a std::exception: the caller reports it.
        input_ = std::make_unique<RtMidiIn>(RtMidi::LINUX_ALSA, config.client_name);
        if (input_->getCurrentApi() != RtMidi::LINUX_ALSA) throw std::runtime_error("RtMidi was built without ALSA");
        input_->setCallback(&AlsaBackend::received, this);  // bypasses RtMidi's own queue
        input_->ignoreTypes(false, false, false);           // clock and SysEx too: the parser sorts them
        input_->openVirtualPort("in");
        output_ = std::make_unique<RtMidiOut>(RtMidi::LINUX_ALSA, config.client_name);
        output_->openVirtualPort("out");
        // Only now: with an error callback set RtMidi reports instead of throwing.
        input_->setErrorCallback(&AlsaBackend::rtmidi_error, this);
        output_->setErrorCallback(&AlsaBackend::rtmidi_error, this);

        if ((!config.connect_in.empty() || !config.connect_out.empty()) &&
            snd_seq_open(&seq_, "default", SND_SEQ_OPEN_DUPLEX, 0) == 0)
            snd_seq_set_client_name(seq_, (config.client_name + " connector").c_str());

        shared_.wake_on_send.store(true, std::memory_order_release);
        shared_.output_open.store(true, std::memory_order_release);
        sender_ = std::thread([this] { send_loop(); });
        connect_new_ports();
        set_status("alsa: " + config.client_name + ":in, " + config.client_name + ":out (ALSA sequencer)");
    }

    ~AlsaBackend() override {
        shared_.output_open.store(false, std::memory_order_release);
        shared_.wake_on_send.store(false, std::memory_order_release);
        stopping_.store(true, std::memory_order_release);
        ::sem_post(&shared_.output_wakeup);
        sender_.join();
        input_->cancelCallback();
        input_.reset();
        output_.reset();
        if (seq_) snd_seq_close(seq_);
    }

    bool available() const override { return true; }

    std::string status() const override {
        std::lock_guard lock(status_mutex_);
        return last_error_.empty() ? status_ : status_ + "; last error: " + last_error_;
    }

    // The sequencer does not come and go like a JACK server: only new ports to connect.
    bool maintain() override { return connect_new_ports(); }

private:
    static void received(double, std::vector<unsigned char>* message, void* self_pointer) {
        auto& self = *static_cast<AlsaBackend*>(self_pointer);
        if (message && !message->empty())
            self.parser_.feed(message->data(), message->size(), clock::monotonic_ns(), self.shared_);
    }

    static void rtmidi_error(RtMidiError::Type, const std::string& text, void* self_pointer) {
        auto& self = *static_cast<AlsaBackend*>(self_pointer);
        std::lock_guard lock(self.status_mutex_);
        self.last_error_ = text;
    }

    void send_loop() {
        while (!stopping_.load(std::memory_order_acquire)) {
            while (::sem_wait(&shared_.output_wakeup) != 0 && errno == EINTR) {}
            midi::Message message;
            while (!stopping_.load(std::memory_order_acquire) && shared_.output.pop(message)) {
                const std::int64_t ahead = message.time_ns - clock::monotonic_ns();
                if (ahead > 0 && ahead < max_output_ahead_ns) clock::sleep_until_ns(message.time_ns);
                output_->sendMessage(message.bytes, message.size);
                MidiShared::count(shared_.sent);
            }
        }
    }

    struct SeqPort {
        std::string name;  // "client:port"
        snd_seq_addr_t address;
        unsigned capability;
    };

    std::vector<SeqPort> list_ports() const {
        std::vector<SeqPort> ports;
        snd_seq_client_info_t* client_info;
        snd_seq_port_info_t* port_info;
        snd_seq_client_info_alloca(&client_info);
        snd_seq_port_info_alloca(&port_info);
        snd_seq_client_info_set_client(client_info, -1);
        const int own = snd_seq_client_id(seq_);
        while (snd_seq_query_next_client(seq_, client_info) >= 0) {
            const int client = snd_seq_client_info_get_client(client_info);
            if (client == own) continue;
            const std::string client_name = snd_seq_client_info_get_name(client_info);
            snd_seq_port_info_set_client(port_info, client);
            snd_seq_port_info_set_port(port_info, -1);
            while (snd_seq_query_next_port(seq_, port_info) >= 0)
                ports.push_back({client_name + ":" + snd_seq_port_info_get_name(port_info),
                                 *snd_seq_port_info_get_addr(port_info), snd_seq_port_info_get_capability(port_info)});
        }
        return ports;
    }

    bool subscribe(const snd_seq_addr_t& from, const snd_seq_addr_t& to) {
        snd_seq_port_subscribe_t* subscription;
        snd_seq_port_subscribe_alloca(&subscription);
        snd_seq_port_subscribe_set_sender(subscription, &from);
        snd_seq_port_subscribe_set_dest(subscription, &to);
        return snd_seq_subscribe_port(seq_, subscription) == 0;
    }

    // Like the JACK backend: only ports new since the last call, so that a connection
    // taken down by hand stays down.
    bool connect_new_ports() {
        if (!seq_) return false;
        const auto ports = list_ports();
        // RtMidi does not tell its client ids; the newest clients with our name are ours.
        const SeqPort* our_in = nullptr;
        const SeqPort* our_out = nullptr;
        const std::string in_name = config_.client_name + ":in";
        const std::string out_name = config_.client_name + ":out";
        for (const auto& port : ports) {
            if (port.name == in_name && (!our_in || port.address.client > our_in->address.client)) our_in = &port;
            if (port.name == out_name && (!our_out || port.address.client > our_out->address.client)) our_out = &port;
        }
        std::set<std::string> present;
        bool changed = false;
        const std::string own_prefix = config_.client_name + ":";
        constexpr unsigned readable = SND_SEQ_PORT_CAP_READ | SND_SEQ_PORT_CAP_SUBS_READ;
        constexpr unsigned writable = SND_SEQ_PORT_CAP_WRITE | SND_SEQ_PORT_CAP_SUBS_WRITE;
        for (const auto& port : ports) {
            present.insert(port.name);
            if (known_ports_.count(port.name) || port.name.rfind(own_prefix, 0) == 0) continue;
            if (our_in && !config_.connect_in.empty() && (port.capability & readable) == readable &&
                port.name.find(config_.connect_in) != std::string::npos)
                changed |= subscribe(port.address, our_in->address);
            if (our_out && !config_.connect_out.empty() && (port.capability & writable) == writable &&
                port.name.find(config_.connect_out) != std::string::npos)
                changed |= subscribe(our_out->address, port.address);
        }
        known_ports_ = std::move(present);
        return changed;
    }

    void set_status(std::string text) {
        std::lock_guard lock(status_mutex_);
        status_ = std::move(text);
    }

    MidiShared& shared_;
    const MidiPortsConfig config_;
    std::unique_ptr<RtMidiIn> input_;
    std::unique_ptr<RtMidiOut> output_;
    snd_seq_t* seq_ = nullptr;  // for subscriptions only
    MidiInputParser parser_;    // RtMidi's input thread's
    std::thread sender_;
    std::atomic<bool> stopping_{false};
    std::set<std::string> known_ports_;
    mutable std::mutex status_mutex_;
    std::string status_;
    std::string last_error_;
};

}  // namespace

std::unique_ptr<MidiBackend> make_alsa_backend(MidiShared& shared, const MidiPortsConfig& config) {
    return std::make_unique<AlsaBackend>(shared, config);
}

}  // namespace kanade::io::detail
