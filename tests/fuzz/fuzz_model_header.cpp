// libFuzzer harness: the text header of a .kmodel file, the part of a model file an
// outsider controls before any weight is read. A header either parses into a shape the
// loader accepts (then the size it claims must add up), or is refused with
// ModelFileError naming the line.
#include "kanade/model/model_header.hpp"

#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
    try {
        auto header = kanade::model::parse_model_header(in, "fuzz.kmodel");
        // What parsed is a valid shape: its weight count is computable without overflow.
        if (kanade::model::parameter_count(header.config) <= 0) std::abort();
        std::size_t listed = 0;
        for (const auto& tensor : header.tensors) listed += tensor.bytes();
        (void)listed;
    } catch (const kanade::model::ModelFileError&) {}
    return 0;
}
