#include "kanade/io/oscquery_command.hpp"

#include <nlohmann/json.hpp>

namespace kanade::io {

OscQueryCommand parse_oscquery_command(std::string_view text) {
    OscQueryCommand command;
    const std::string usage =
        R"(expected {"COMMAND":"LISTEN" or "IGNORE","DATA":"/kanade/..."} or {"COMMAND":"STREAM"})";
    nlohmann::json message;
    try {
        message = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& error) {
        command.error = std::string("not JSON: ") + error.what();
        return command;
    }
    const auto verb = message.is_object() ? message.find("COMMAND") : message.end();
    if (!message.is_object() || verb == message.end() || !verb->is_string()) {
        command.error = usage;
        return command;
    }
    const auto& name = verb->get_ref<const std::string&>();
    if (name == "STREAM") {
        command.verb = OscQueryCommand::Verb::stream;
        return command;
    }
    if (name != "LISTEN" && name != "IGNORE") {
        command.error = "unknown COMMAND '" + name + "': " + usage;
        return command;
    }
    command.verb = name == "LISTEN" ? OscQueryCommand::Verb::listen : OscQueryCommand::Verb::ignore;
    const auto data = message.find("DATA");
    if (data == message.end() || !data->is_string() || data->get_ref<const std::string&>().rfind('/', 0) != 0) {
        command.error = name + " wants DATA, an OSC address (\"/kanade/tempo\"): " + usage;
        return command;
    }
    command.address = data->get<std::string>();
    return command;
}

}  // namespace kanade::io
