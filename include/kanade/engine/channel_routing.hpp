// Which MIDI channel each session plays on and which session hears a channel: sessions
// take consecutive channels from the first, wrapping after 16, the same way in and out.
// A lone session hears every channel (a keyboard on any channel plays with it).
#pragma once

namespace kanade::engine {

struct ChannelRouting {
    int first_channel = 0;  // 0..15
    int sessions = 1;       // 1..16

    int output_channel(int session) const { return (first_channel + session) % 16; }
    // The session that listens on `channel` (0..15), or -1 when none does.
    int session_for(int channel) const {
        if (sessions == 1) return 0;
        const int session = ((channel - first_channel) % 16 + 16) % 16;
        return session < sessions ? session : -1;
    }

    // Packed into one int, so a thread can read the routing whole from an atomic.
    int pack() const { return first_channel * 32 + sessions; }
    static ChannelRouting unpack(int packed) { return {packed / 32, packed % 32}; }
};

}  // namespace kanade::engine
