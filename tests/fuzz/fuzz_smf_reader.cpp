// libFuzzer harness: the Standard MIDI File reader, and everything a file read from
// outside goes through next (notes, both tokenizers, writing it back). A file either
// loads or is refused with SmfError; what loads must write out and read back.
#include "kanade/midi/note.hpp"
#include "kanade/midi/smf.hpp"
#include "kanade/music/tokenizer.hpp"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace kanade;
    midi::ReadLimits limits;
    limits.max_events = 200'000;  // keeps each run fast; the limits themselves are tested
    midi::ReadResult result;
    try {
        result = midi::parse_smf({data, size}, "<fuzz>", limits);
    } catch (const midi::SmfError&) {
        return 0;
    }
    auto notes = midi::extract_notes(result.file);
    for (const char* name : {"kanade", "seed"}) {
        auto tokenizer = music::make_tokenizer(name, {});
        (void)tokenizer->encode(notes);
    }
    // What we read, we can write, and read again.
    auto bytes = midi::serialize_smf(result.file);
    try {
        (void)midi::parse_smf(bytes, "<fuzz: written back>");
    } catch (const midi::SmfError&) {
        std::abort();  // the writer made a file the reader refuses: a bug
    }
    return 0;
}
