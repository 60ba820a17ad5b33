// libFuzzer harness: recordings for `kanade transcribe` (libsndfile's decoders behind
// AudioFileReader, then mixing and resampling). A file either gives mono samples or
// AudioFileError naming it. The bytes go through a file because that is how recordings
// arrive.
#include "kanade/io/audio_file.hpp"

#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::string path = "/tmp/kanade-fuzz-audio-" + std::to_string(::getpid());
    {
        std::ofstream file(path, std::ios::binary | std::ios::trunc);
        file.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    }
    try {
        kanade::io::AudioFileReader reader(path, 22050);
        // Bounded work per input: a header may claim hours.
        for (int block = 0; block < 64 && !reader.done(); ++block) reader.read(4096);
    } catch (const kanade::io::AudioFileError&) {}
    return 0;
}
