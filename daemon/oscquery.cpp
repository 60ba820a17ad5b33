#include "oscquery.hpp"

#include "daemon.hpp"

#include "kanade/io/oscquery_command.hpp"

#include <algorithm>
#include <filesystem>
#include <type_traits>

namespace kanade::daemon {
namespace {

using nlohmann::json;

// The node attributes served (OSCQuery's core set, the ones this namespace has).
const std::vector<std::string> attributes = {"FULL_PATH", "CONTENTS", "TYPE",       "ACCESS",
                                             "VALUE",     "RANGE",    "DESCRIPTION"};
constexpr int write_only = 2, read_write = 3;  // OSCQuery's ACCESS

// A setting's value as JSON: numbers exactly as configured (not via OSC's float), flags
// and whole numbers as integers (their OSC type is i), text as text.
json json_value(const io::SettingValue& value) {
    return std::visit(
        [](const auto& v) -> json {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::uint64_t>)
                return std::to_string(v);
            else if constexpr (std::is_same_v<T, bool>)
                return static_cast<int>(v);
            else
                return v;
        },
        value);
}

json json_range(const io::Setting& setting) {
    if (setting.range) return {{"MIN", setting.range->first}, {"MAX", setting.range->second}};
    if (!setting.choices.empty()) return {{"VALS", setting.choices}};
    return nullptr;
}

// The node at `path` in `tree` ("/" is the root, "/kanade/" the same as "/kanade"), or null.
const json* find_node(const json& tree, std::string path) {
    if (path.size() > 1 && path.back() == '/') path.pop_back();
    if (path.empty() || path[0] != '/') return nullptr;
    const json* at = &tree;
    std::size_t begin = 1;
    while (begin < path.size()) {
        const auto end = std::min(path.find('/', begin), path.size());
        const auto part = path.substr(begin, end - begin);
        const auto contents = at->find("CONTENTS");
        if (part.empty() || contents == at->end() || !contents->contains(part)) return nullptr;
        at = &(*contents)[part];
        begin = end + 1;
    }
    return at;
}

io::HttpReply text_reply(int status, std::string text) { return {status, "text/plain", std::move(text) + "\n"}; }

std::string error_json(const std::string& reason) { return json{{"COMMAND", "ERROR"}, {"DATA", reason}}.dump(); }

}  // namespace

OscQuery::OscQuery(Daemon& daemon, SettingAddresses settings, boost::asio::io_context& io,
                   const io::HttpServerConfig& config)
    : daemon_(daemon),
      settings_(std::move(settings)),
      server_(io, config,
              io::HttpHandlers{
                  [this](const io::HttpRequest& request) { return answer(request); },
                  [this](io::WebSocketId peer, std::string_view text) {
                      if (auto reply = command(peer, text); !reply.empty()) server_.send_text(peer, reply);
                  },
                  [this](io::WebSocketId peer, std::span<const std::uint8_t> packet) { run_osc(peer, packet); },
                  [this](io::WebSocketId peer) {
                      listening_.erase(peer);
                      streaming_.erase(peer);
                  }}) {}

std::optional<std::vector<io::OscValue>> OscQuery::values_of(const std::string& address,
                                                             const io::DaemonConfig& now) const {
    const auto keys = settings_.find(address);
    if (keys == settings_.end()) return std::nullopt;
    std::vector<io::OscValue> values;
    for (const auto& key : keys->second) values.push_back(osc_value(io::setting(key).get(now)));
    return values;
}

json OscQuery::namespace_tree(const io::DaemonConfig& now) const {
    json root = {{"FULL_PATH", "/"},
                 {"DESCRIPTION", "kanaded, a real-time generative MIDI instrument"},
                 {"CONTENTS", json::object()}};
    for (const auto& command : daemon_.osc().commands()) {
        json node = {{"FULL_PATH", command.address}, {"DESCRIPTION", command.help}, {"ACCESS", write_only}};
        if (!command.type_tags.empty() && command.type_tags != "*") node["TYPE"] = command.type_tags;
        if (const auto keys = settings_.find(command.address); keys != settings_.end()) {
            node["ACCESS"] = read_write;
            node["VALUE"] = json::array();
            node["RANGE"] = json::array();
            for (const auto& key : keys->second) {
                const auto& setting = io::setting(key);
                node["VALUE"].push_back(json_value(setting.get(now)));
                node["RANGE"].push_back(json_range(setting));
            }
        }
        // Walk down /kanade/session/..., making the containers on the way.
        json* at = &root;
        std::size_t begin = 1;
        while (true) {
            const auto end = command.address.find('/', begin);
            auto& contents = (*at)["CONTENTS"];
            if (end == std::string::npos) {
                const auto name = command.address.substr(begin);
                if (contents.contains(name) && contents[name].contains("CONTENTS"))
                    node["CONTENTS"] = contents[name]["CONTENTS"];
                contents[name] = std::move(node);
                break;
            }
            const auto name = command.address.substr(begin, end - begin);
            if (!contents.contains(name))
                contents[name] = {{"FULL_PATH", command.address.substr(0, end)}, {"CONTENTS", json::object()}};
            else if (!contents[name].contains("CONTENTS"))
                contents[name]["CONTENTS"] = json::object();
            at = &contents[name];
            begin = end + 1;
        }
    }
    return root;
}

json OscQuery::host_info() const {
    json extensions = json::object();
    for (const auto& attribute : attributes) extensions[attribute] = true;
    extensions["LISTEN"] = true;
    for (const char* missing : {"TAGS", "EXTENDED_TYPE", "UNIT", "CRITICAL", "CLIPMODE", "OVERLOADS", "PATH_CHANGED",
                                "PATH_RENAMED", "PATH_ADDED", "PATH_REMOVED", "HTML"})
        extensions[missing] = false;
    return {{"NAME", "kanaded"},
            {"OSC_IP", daemon_.config().osc.bind},
            {"OSC_PORT", daemon_.osc().local_port()},
            {"OSC_TRANSPORT", "UDP"},
            {"EXTENSIONS", extensions}};
}

io::HttpReply OscQuery::answer(const io::HttpRequest& request) {
    // A browser gets the page; OSCQuery clients ask for JSON (or for nothing in particular).
    if (request.path == "/" && request.query.empty() && request.accept.find("text/html") != std::string::npos)
        return {200, "text/html; charset=utf-8", control_page()};
    if (request.query == "HOST_INFO") return {200, "application/json", host_info().dump()};
    auto now = settings_in_force(daemon_);
    const auto tree = namespace_tree(now);
    const json* node = find_node(tree, request.path);
    if (!node) return text_reply(404, "no OSC address at " + request.path + " (GET / lists them)");
    if (request.query.empty()) return {200, "application/json", node->dump()};
    if (std::find(attributes.begin(), attributes.end(), request.query) == attributes.end()) {
        std::string known = "HOST_INFO";
        for (const auto& attribute : attributes) known += ", " + attribute;
        return text_reply(
            400, "unknown OSCQuery attribute '" + request.query + "' at " + request.path + " (served: " + known + ")");
    }
    const auto attribute = node->find(request.query);
    if (attribute == node->end()) return {204, "", ""};  // the node has no such attribute
    return {200, "application/json", json{{request.query, *attribute}}.dump()};
}

std::string OscQuery::command(io::WebSocketId peer, std::string_view text) {
    const auto command = io::parse_oscquery_command(text);
    if (!command.error.empty()) return error_json(command.error);
    switch (command.verb) {
        case io::OscQueryCommand::Verb::stream:
            streaming_.insert(peer);
            ticks_since_status_ = 1000;  // its first status at the next tick
            return "";
        case io::OscQueryCommand::Verb::listen: {
            auto now = settings_in_force(daemon_);
            auto values = values_of(command.address, now);
            if (!values)
                return error_json("LISTEN " + command.address + ": no value there (not an address, or an action)");
            listening_[peer][command.address] = std::move(*values);
            return "";
        }
        case io::OscQueryCommand::Verb::ignore:
            if (auto found = listening_.find(peer); found != listening_.end()) found->second.erase(command.address);
            return "";
    }
    return "";
}

void OscQuery::run_osc(io::WebSocketId peer, std::span<const std::uint8_t> packet) {
    std::vector<io::OscMessage> messages;
    try {
        messages = io::decode_osc(packet);
    } catch (const io::OscDecodeError& error) {
        server_.send_text(peer, error_json(std::string("bad OSC packet: ") + error.what()));
        return;
    }
    // A command's own reply (status, help, get) goes by UDP, so nowhere from here: values
    // come back through LISTEN.
    for (auto& message : messages)
        if (auto reason = daemon_.osc().run(message, io::OscEndpoint{}); !reason.empty())
            server_.send_text(peer, error_json(message.address + ": " + reason));
}

void OscQuery::send_changes() {
    if (listening_.empty()) return;
    auto now = settings_in_force(daemon_);
    for (auto& [peer, addresses] : listening_) {
        for (auto& [address, last] : addresses) {
            auto values = values_of(address, now);
            if (!values || *values == last) continue;
            last = *values;
            server_.send_binary(peer, io::encode_osc(io::OscMessage{address, std::move(*values)}));
        }
    }
}

json OscQuery::status() const {
    auto& d = daemon_;
    const auto scheduler = d.scheduler().stats();
    const auto inference = d.service().stats();
    const auto recording = d.record_counters();
    json models = json::array();
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(d.models_dir(), error))
        if (entry.path().extension() == ".kmodel") models.push_back(entry.path().filename().string());
    std::sort(models.begin(), models.end());
    return {{"tempo", d.scheduler().tempo()},
            {"playing", d.scheduler().playing()},
            {"clock", d.clock_leader()},
            {"link_peers", d.link() ? static_cast<std::int64_t>(d.link()->peers()) : std::int64_t{-1}},
            {"device", inference.device},
            {"inference_p50_ms", inference.p50_ms},
            {"inference_p99_ms", inference.p99_ms},
            {"steps", scheduler.steps},
            {"late", scheduler.late_steps},
            {"player_to_step_p99_ms", scheduler.player_to_step.p99_ms},
            {"player_to_machine_p99_ms", scheduler.player_to_machine.p99_ms},
            {"replans", inference.replans},
            {"sessions", d.service().session_count()},
            {"model_file", d.model_file()},
            {"models", models},
            {"recording", d.recording_path()},
            {"record_events", recording.events}};
}

void OscQuery::send_notes(std::int64_t step, double step_ms, const std::vector<WatchedNote>& played,
                          const std::vector<WatchedNote>& planned, const std::vector<Retraction>& retracted) {
    auto rows = [](const std::vector<WatchedNote>& notes) {
        json list = json::array();
        for (const auto& note : notes)
            list.push_back({{"step", note.step},
                            {"channel", note.channel},
                            {"pitch", note.pitch},
                            {"velocity", note.velocity},
                            {"steps", note.steps},
                            {"human", note.human}});
        return list;
    };
    json retractions = json::array();
    for (const auto& retraction : retracted)
        retractions.push_back({{"step", retraction.step}, {"channel", retraction.channel}});
    const auto frame = json{{"COMMAND", "NOTES"},
                            {"DATA",
                             {{"step", step},
                              {"step_ms", step_ms},
                              {"retracted", retractions},
                              {"played", rows(played)},
                              {"planned", rows(planned)}}}}
                           .dump();
    const bool with_status = ++ticks_since_status_ >= 10;  // housekeeping runs every 50 ms
    const auto status_frame = with_status ? json{{"COMMAND", "STATUS"}, {"DATA", status()}}.dump() : std::string();
    if (with_status) ticks_since_status_ = 0;
    for (const auto peer : streaming_) {
        server_.send_text(peer, frame);
        if (with_status) server_.send_text(peer, status_frame);
    }
}

}  // namespace kanade::daemon
