// OSC: the codec (round trips, bundles, every malformed class we know of, and a
// mutation loop over valid packets) and the server over real UDP on 127.0.0.1 (type
// checks, /kanade/fail replies, handlers that throw, oversized packets, a 100,000-packet
// burst from several sockets).
#include "kanade/io/osc_server.hpp"

#include "io/osc_test_client.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

using namespace kanade;
using namespace kanade::io;
using namespace std::chrono_literals;

namespace {

std::vector<std::uint8_t> padded(std::string text) {
    text.push_back('\0');
    while (text.size() % 4) text.push_back('\0');
    return {text.begin(), text.end()};
}

void append(std::vector<std::uint8_t>& to, const std::vector<std::uint8_t>& bytes) {
    to.insert(to.end(), bytes.begin(), bytes.end());
}

void append_int(std::vector<std::uint8_t>& to, std::int32_t value) {
    const auto bits = static_cast<std::uint32_t>(value);
    for (int shift = 24; shift >= 0; shift -= 8) to.push_back(static_cast<std::uint8_t>(bits >> shift));
}

// A bundle holding `elements` (each an encoded packet), with an immediate time tag.
std::vector<std::uint8_t> bundle(const std::vector<std::vector<std::uint8_t>>& elements) {
    auto bytes = padded("#bundle");
    append_int(bytes, 0);
    append_int(bytes, 1);
    for (const auto& element : elements) {
        append_int(bytes, static_cast<std::int32_t>(element.size()));
        append(bytes, element);
    }
    return bytes;
}

// Decodes, and says whether it was refused; anything other than OscDecodeError escapes.
bool refused(const std::vector<std::uint8_t>& bytes) {
    try {
        decode_osc(bytes);
        return false;
    } catch (const OscDecodeError&) {
        return true;
    }
}

std::size_t resident_kib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
    return 0;
}

// An OscServer on its own io_context thread, on a free loopback port.
struct RunningServer {
    explicit RunningServer(std::size_t max_packet_bytes = 8192) {
        OscServerConfig config;
        config.port = 0;
        config.max_packet_bytes = max_packet_bytes;
        server = std::make_unique<OscServer>(io, config);
        server->add("/test/tempo", "f", "a float", [this](const OscMessage& message, const OscEndpoint&) {
            tempo.store(std::get<float>(message.arguments[0]));
            return std::string();
        });
        server->add("/test/range", "i", "1..10", [](const OscMessage& message, const OscEndpoint&) {
            auto value = std::get<std::int32_t>(message.arguments[0]);
            return value >= 1 && value <= 10 ? std::string() : "value " + std::to_string(value) + " out of range 1..10";
        });
        server->add("/test/throw", "", "throws", [](const OscMessage&, const OscEndpoint&) -> std::string {
            throw std::runtime_error("handler blew up");
        });
        server->add("/test/echo", "*", "replies with its arguments",
                    [this](const OscMessage& message, const OscEndpoint& from) {
                        server->send(from, OscMessage{"/test/echoed", message.arguments});
                        return std::string();
                    });
        thread = std::thread([this] { io.run(); });
    }
    ~RunningServer() {
        io.stop();
        thread.join();
    }
    int port() const { return server->local_port(); }

    boost::asio::io_context io;
    std::unique_ptr<OscServer> server;
    std::atomic<float> tempo{0};
    std::thread thread;
};

}  // namespace

TEST_CASE("OSC messages round-trip through the wire format") {
    OscMessage message{"/kanade/x", {std::int32_t{-7}, 0.25f, std::string("héllo"), std::string()}};
    auto decoded = decode_osc(encode_osc(message));
    REQUIRE(decoded.size() == 1);
    CHECK(decoded[0].address == "/kanade/x");
    REQUIRE(decoded[0].arguments.size() == 4);
    CHECK(std::get<std::int32_t>(decoded[0].arguments[0]) == -7);
    CHECK(std::get<float>(decoded[0].arguments[1]) == 0.25f);
    CHECK(std::get<std::string>(decoded[0].arguments[2]) == "héllo");
    CHECK(std::get<std::string>(decoded[0].arguments[3]).empty());
    CHECK(type_tags(decoded[0]) == "ifss");
    CHECK(describe(OscMessage{"/a", {std::int32_t{1}, std::string("b")}}) == "/a 1 \"b\"");
}

TEST_CASE("a bundle gives every message inside it, nested ones too, to a bounded depth") {
    auto a = encode_osc({"/a", {std::int32_t{1}}});
    auto b = encode_osc({"/b", {2.0f}});
    auto messages = decode_osc(bundle({a, bundle({b, a})}));
    REQUIRE(messages.size() == 3);
    CHECK(messages[0].address == "/a");
    CHECK(messages[1].address == "/b");
    CHECK(messages[2].address == "/a");

    auto deep = a;
    for (int depth = 0; depth < 20; ++depth) deep = bundle({deep});
    CHECK(refused(deep));  // nested 20 deep: refused, not a stack overflow
}

TEST_CASE("each known class of malformed packet is refused with a reason, never a crash") {
    CHECK(refused({}));
    CHECK(refused({'h', 'e', 'l', 'l', 'o', 0, 0, 0}));             // not OSC (crashed scsynth)
    CHECK(refused({'/', 'a', 0}));                                  // size not a multiple of 4
    CHECK(refused(padded("/unterminated-address-----")) == false);  // properly padded: fine
    std::vector<std::uint8_t> unterminated = {'/', 'a', 'b', 'c'};
    CHECK(refused(unterminated));  // no NUL in the address
    // Type tags that promise arguments the packet does not hold.
    auto promises = padded("/a");
    append(promises, padded(",iii"));
    append_int(promises, 1);
    CHECK(refused(promises));
    // A string argument without its terminator.
    auto open_string = padded("/a");
    append(open_string, padded(",s"));
    append(open_string, {'a', 'b', 'c', 'd'});
    CHECK(refused(open_string));
    // A type we do not take (blob).
    auto blob = padded("/a");
    append(blob, padded(",b"));
    append_int(blob, 4);
    append_int(blob, 0);
    CHECK(refused(blob));
    // A bundle element whose size lies.
    auto lying = padded("#bundle");
    append_int(lying, 0);
    append_int(lying, 1);
    append_int(lying, 4000);
    append(lying, padded("/a"));
    CHECK(refused(lying));
    auto negative = padded("#bundle");
    append_int(negative, 0);
    append_int(negative, 1);
    append_int(negative, -8);
    append(negative, padded("/a"));
    CHECK(refused(negative));
    // An address that is not one.
    CHECK(refused(padded("#notabundle")));
    // Found by fuzzing (tests/fuzz/corpus/osc/crash-oscpack-negative-blob.bin): a blob
    // whose size is negative sent oscpack's parser reading far outside the packet.
    auto negative_blob = padded("/kan");
    append(negative_blob, padded(",bis"));
    append_int(negative_blob, -1'000'000);
    append_int(negative_blob, 7);
    append(negative_blob, padded("x"));
    CHECK(refused(negative_blob));
    std::ifstream crash(std::string(KANADE_SOURCE_DIR) + "/tests/fuzz/corpus/osc/crash-oscpack-negative-blob.bin",
                        std::ios::binary);
    std::vector<std::uint8_t> crash_bytes{std::istreambuf_iterator<char>(crash), {}};
    REQUIRE(crash_bytes.size() == 172);
    CHECK(refused(crash_bytes));
    // Bytes after the last argument, and a type-tag string without its comma.
    auto trailing = encode_osc({"/a", {std::int32_t{1}}});
    append_int(trailing, 2);
    CHECK(refused(trailing));
    auto no_comma = padded("/a");
    append(no_comma, padded("i"));
    append_int(no_comma, 1);
    CHECK(refused(no_comma));
    // A message without a type-tag string decodes as one without arguments (old OSC).
    auto old_style = decode_osc(padded("/a"));
    REQUIRE(old_style.size() == 1);
    CHECK(old_style[0].arguments.empty());
}

TEST_CASE("mutated and truncated packets decode or are refused, 20,000 times over") {
    std::vector<std::vector<std::uint8_t>> valid = {
        encode_osc({"/kanade/tempo", {120.0f}}),
        encode_osc({"/kanade/note", {std::int32_t{60}, std::int32_t{100}, std::int32_t{4}}}),
        encode_osc({"/kanade/model/load", {std::string("default.kmodel")}}),
        bundle({encode_osc({"/a", {std::int32_t{1}}}), bundle({encode_osc({"/b", {std::string("x")}})})}),
    };
    std::mt19937 random(1234);
    std::size_t decoded = 0, refusals = 0;
    for (int round = 0; round < 20000; ++round) {
        auto bytes = valid[static_cast<std::size_t>(round) % valid.size()];
        const int edits = 1 + static_cast<int>(random() % 4);
        for (int edit = 0; edit < edits; ++edit) {
            const auto at = random() % bytes.size();
            switch (random() % 4) {
                case 0: bytes[at] = static_cast<std::uint8_t>(random()); break;  // a random byte
                case 1: bytes[at] ^= static_cast<std::uint8_t>(1u << (random() % 8)); break;
                case 2: bytes.resize(std::max<std::size_t>(1, at)); break;                        // truncated
                case 3: bytes[at] = static_cast<std::uint8_t>("\0,ifsb#/"[random() % 8]); break;  // structure bytes
            }
        }
        if (refused(bytes))
            ++refusals;
        else
            ++decoded;
    }
    MESSAGE(decoded << " mutated packets decoded, " << refusals << " refused");
    CHECK(decoded + refusals == 20000);
    CHECK(refusals > 0);
}

TEST_CASE("the OSC server checks types, converts what loses nothing, and replies /kanade/fail to everything wrong") {
    RunningServer running;
    test::OscTestClient client(running.port());

    client.send({"/test/tempo", {std::int32_t{90}}});  // an int where a float is asked: converted
    auto echo = client.request({"/test/echo", {std::string("ping")}}, "/test/echoed");
    REQUIRE(echo);
    CHECK(std::get<std::string>(echo->arguments.at(0)) == "ping");
    CHECK(running.tempo.load() == 90.0f);

    auto fail = client.request({"/test/tempo", {std::string("fast")}}, "/kanade/fail");
    REQUIRE(fail);
    CHECK(std::get<std::string>(fail->arguments.at(0)) == "/test/tempo");
    CHECK(std::get<std::string>(fail->arguments.at(1)).find("expected arguments (f)") != std::string::npos);

    fail = client.request({"/test/range", {2.5f}}, "/kanade/fail");  // not a whole number
    REQUIRE(fail);
    fail = client.request({"/test/range", {std::int32_t{11}}}, "/kanade/fail");
    REQUIRE(fail);
    CHECK(std::get<std::string>(fail->arguments.at(1)) == "value 11 out of range 1..10");

    fail = client.request({"/test/throw", {}}, "/kanade/fail");  // the exception becomes a reply
    REQUIRE(fail);
    CHECK(std::get<std::string>(fail->arguments.at(1)) == "handler blew up");

    fail = client.request({"/nowhere", {}}, "/kanade/fail");
    REQUIRE(fail);
    CHECK(std::get<std::string>(fail->arguments.at(0)) == "/nowhere");

    client.send_raw({'x', 'y', 'z', 0});
    auto malformed = client.receive();
    REQUIRE(malformed);
    CHECK(malformed->address == "/kanade/fail");
    CHECK(std::get<std::string>(malformed->arguments.at(0)) == "(malformed)");
    CHECK(running.server->counters().malformed == 1);
}

TEST_CASE("a packet over the size cap is refused whole") {
    RunningServer running(256);
    test::OscTestClient client(running.port());
    auto fail = client.request({"/test/echo", {std::string(1000, 'x')}}, "/kanade/fail");
    REQUIRE(fail);
    CHECK(std::get<std::string>(fail->arguments.at(0)) == "(packet)");
    CHECK(std::get<std::string>(fail->arguments.at(1)).find("larger than 256 bytes") != std::string::npos);
    CHECK(running.server->counters().oversized == 1);
    auto fine = client.request({"/test/echo", {std::string(100, 'x')}}, "/test/echoed");
    CHECK(fine);
}

TEST_CASE("100,000 packets in a burst from four sockets, valid and malformed: the server keeps serving") {
    RunningServer running;
    const auto rss_before = resident_kib();
    constexpr int sockets = 4, per_socket = 25000;
    std::vector<std::thread> senders;
    for (int s = 0; s < sockets; ++s)
        senders.emplace_back([&, s] {
            test::OscTestClient client(running.port());
            const auto tempo = encode_osc({"/test/tempo", {static_cast<float>(60 + s)}});
            const auto unknown = encode_osc({"/nowhere", {std::int32_t{s}}});
            const std::vector<std::uint8_t> garbage = {'g', 'a', 'r', 'b', 'a', 'g', 'e', 0};
            for (int i = 0; i < per_socket; ++i) {
                switch (i % 3) {
                    case 0: client.send_raw(tempo); break;
                    case 1: client.send_raw(unknown); break;
                    case 2: client.send_raw(garbage); break;
                }
            }
        });
    for (auto& sender : senders) sender.join();
    // Loopback UDP drops what the socket buffer cannot hold: count what arrived.
    // The probe's own packet may be dropped while the socket's buffer is still full: ask again.
    test::OscTestClient probe(running.port());
    std::optional<OscMessage> echo;
    for (int attempt = 0; attempt < 40 && !echo; ++attempt)
        echo = probe.request({"/test/echo", {std::string("still there")}}, "/test/echoed", 500ms);
    REQUIRE(echo);
    const auto counters = running.server->counters();
    MESSAGE(counters.packets << " of 100,000 packets arrived; " << counters.malformed << " malformed, "
                             << counters.failed << " failed; RSS grew " << (resident_kib() - rss_before) << " KiB");
    CHECK(counters.packets >= 1000);
    CHECK(counters.malformed >= 1);
    CHECK(counters.failed >= counters.malformed);
    CHECK(running.tempo.load() >= 60.0f);
    CHECK(resident_kib() < rss_before + 64 * 1024);  // bounded: no per-packet growth
}
