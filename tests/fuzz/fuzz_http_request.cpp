// libFuzzer harness: bytes as an HTTP request, read as kanaded's server reads one
// (Beast's parser with the server's limits), then its target split by
// parse_request_target. Nothing may escape but a parse error or an error text.
#include "kanade/io/http_server.hpp"

#include <utility>  // before Boost 1.74 Asio, which uses std::exchange without it under C++20

#include <boost/beast/http.hpp>

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace http = boost::beast::http;
    const kanade::io::HttpServerConfig limits;
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.max_request_bytes));
    parser.body_limit(limits.max_request_bytes);
    parser.eager(true);
    boost::beast::error_code error;
    parser.put(boost::asio::buffer(data, size), error);
    if (!error && parser.is_header_done()) {
        const auto target = parser.get().target();
        const auto split = kanade::io::parse_request_target(std::string_view(target.data(), target.size()));
        if (split.error.empty() && !split.path.empty() && split.path[0] != '/') __builtin_trap();
    }
    // The target alone, as any text.
    const auto split = kanade::io::parse_request_target(std::string_view(reinterpret_cast<const char*>(data), size));
    if (split.error.empty() && split.path.find('\0') != std::string::npos) __builtin_trap();
    return 0;
}
