// libFuzzer harness: an OSC datagram through the whole server path (decode, type check,
// conversion, dispatch to a table shaped like kanaded's), in-process. Replies go to the
// discard port on loopback. Nothing may escape but a /kanade/fail reply.
#include "kanade/io/osc_server.hpp"

#include <cstdint>
#include <memory>

namespace {

kanade::io::OscServer& server() {
    static boost::asio::io_context io;
    static std::unique_ptr<kanade::io::OscServer> instance = [] {
        kanade::io::OscServerConfig config;
        config.port = 0;
        auto made = std::make_unique<kanade::io::OscServer>(io, config);
        auto ok = [](const kanade::io::OscMessage&, const kanade::io::OscEndpoint&) { return std::string(); };
        for (const auto& [address, tags] :
             std::initializer_list<std::pair<const char*, const char*>>{{"/kanade/start", ""},
                                                                        {"/kanade/tempo", "f"},
                                                                        {"/kanade/top_k", "i"},
                                                                        {"/kanade/mode", "s"},
                                                                        {"/kanade/note", "iii"},
                                                                        {"/kanade/range", "ii"},
                                                                        {"/kanade/any", "*"}})
            made->add(address, tags, "fuzz", ok);
        made->add("/kanade/throw", "s", "fuzz",
                  [](const kanade::io::OscMessage& message, const kanade::io::OscEndpoint&) -> std::string {
                      throw std::runtime_error(std::get<std::string>(message.arguments.at(0)));
                  });
        return made;
    }();
    return *instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const kanade::io::OscEndpoint discard(boost::asio::ip::make_address("127.0.0.1"), 9);
    server().handle_packet({data, size}, discard);
    return 0;
}
