// A small streaming JSON writer for the tools' machine-readable output: keys in the
// order written, strings escaped, non-finite numbers written as null.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kanade::util {

class JsonWriter {
public:
    JsonWriter& begin_object();
    JsonWriter& end_object();
    JsonWriter& begin_array();
    JsonWriter& end_array();
    JsonWriter& key(std::string_view name);
    JsonWriter& value(std::string_view text);
    JsonWriter& value(const char* text) { return value(std::string_view(text)); }
    JsonWriter& value(double number);
    JsonWriter& value(std::int64_t number);
    JsonWriter& value(std::uint64_t number);
    JsonWriter& value(int number) { return value(static_cast<std::int64_t>(number)); }
    JsonWriter& value(bool flag);
    JsonWriter& null();

    template <typename T>
    JsonWriter& field(std::string_view name, const T& v) {
        return key(name).value(v);
    }

    const std::string& str() const { return text_; }

private:
    void before_value();
    std::string text_;
    std::vector<bool> first_in_scope_;
    bool after_key_ = false;
};

std::string json_escape(std::string_view text);

}  // namespace kanade::util
