// One short MIDI message (note, controller, clock, ...) with the time it was received
// or is due, as plain data that can cross the real-time queues. SysEx is not carried.
#pragma once

#include <cstdint>

namespace kanade::midi {

struct Message {
    std::uint8_t bytes[3] = {0, 0, 0};
    std::uint8_t size = 0;
    std::int64_t time_ns = 0;  // CLOCK_MONOTONIC nanoseconds

    std::uint8_t status() const { return bytes[0]; }
    std::uint8_t command() const { return bytes[0] & 0xF0; }
    std::uint8_t channel() const { return bytes[0] & 0x0F; }
    bool is_note_on() const { return command() == 0x90 && size == 3 && bytes[2] > 0; }
    bool is_note_off() const { return (command() == 0x80 || (command() == 0x90 && bytes[2] == 0)) && size == 3; }

    static Message note_on(int channel, int pitch, int velocity, std::int64_t time_ns = 0) {
        return make(0x90 | (channel & 0x0F), pitch & 0x7F, velocity & 0x7F, 3, time_ns);
    }
    static Message note_off(int channel, int pitch, std::int64_t time_ns = 0) {
        return make(0x80 | (channel & 0x0F), pitch & 0x7F, 0, 3, time_ns);
    }
    static Message control_change(int channel, int controller, int value, std::int64_t time_ns = 0) {
        return make(0xB0 | (channel & 0x0F), controller & 0x7F, value & 0x7F, 3, time_ns);
    }
    static Message realtime(std::uint8_t status, std::int64_t time_ns = 0) { return make(status, 0, 0, 1, time_ns); }

private:
    static Message make(int status, int data1, int data2, int size, std::int64_t time_ns) {
        Message message;
        message.bytes[0] = static_cast<std::uint8_t>(status);
        message.bytes[1] = static_cast<std::uint8_t>(data1);
        message.bytes[2] = static_cast<std::uint8_t>(data2);
        message.size = static_cast<std::uint8_t>(size);
        message.time_ns = time_ns;
        return message;
    }
};

}  // namespace kanade::midi
