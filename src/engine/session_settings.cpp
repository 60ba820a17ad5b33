#include "kanade/engine/session_settings.hpp"

#include <stdexcept>

namespace kanade::engine {

Mode parse_mode(const std::string& text) {
    if (text == "free") return Mode::free;
    if (text == "call-response" || text == "call_response") return Mode::call_response;
    if (text == "accompany") return Mode::accompany;
    throw std::invalid_argument("unknown mode '" + text + "' (expected free, call-response or accompany)");
}

const char* mode_name(Mode mode) {
    switch (mode) {
        case Mode::free: return "free";
        case Mode::call_response: return "call-response";
        case Mode::accompany: return "accompany";
    }
    return "free";
}

}  // namespace kanade::engine
