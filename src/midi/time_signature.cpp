#include "kanade/midi/time_signature.hpp"

namespace kanade::midi {

std::optional<TimeSignature> time_signature_at_start(const File& file) {
    std::optional<TimeSignature> found;
    for (const auto& track : file.tracks)
        for (const auto& event : track.events) {
            if (event.tick > 0) break;
            if (event.kind != EventKind::meta || event.meta_type != meta::time_signature || event.data.size() < 2 ||
                event.data[0] == 0 || event.data[1] > 6)
                continue;
            found = TimeSignature{event.data[0], 1 << event.data[1]};
        }
    return found;
}

}  // namespace kanade::midi
