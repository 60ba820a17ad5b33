#include "kanade/model/model_file.hpp"
#include "kanade/music/kanade_tokenizer.hpp"

#include "../test_paths.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <random>

using namespace kanade;
using namespace kanade::model;

namespace {

Model small_model(const std::string& arch = "kanade") {
    Model model;
    model.tokenizer = "kanade";
    model.vocabulary = *music::KanadeTokenizer().fixed_vocabulary();
    model.config.arch = arch;
    model.config.vocab_size = static_cast<int>(model.vocabulary.size());
    model.config.hidden = 16;
    model.config.embedding = 8;
    model.info["note"] = "made by a test";
    model.primers = {music::Primer{16, {1, 2, 3}}, music::Primer{12, {4, 5}}};
    model.network = Network(model.config);
    return model;
}

std::string read_all(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

void write_all(const std::filesystem::path& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
}

// Float16 keeps 11 significant bits: a stored weight is within 2^-11 of the original,
// relative to its size (plus half the smallest subnormal's spacing near zero).
constexpr double float16_relative_error = 1.0 / 2048 * 1.001;
constexpr double float16_absolute_error = 3e-8;

bool same_weights(Network& a, Network& b, WeightStorage storage) {
    const bool exact = storage == WeightStorage::f32;
    auto pa = a->named_parameters(), pb = b->named_parameters();
    for (std::size_t i = 0; i < pa.size(); ++i)
        if (!torch::allclose(pb[i].value(), pa[i].value(), exact ? 0 : float16_relative_error,
                             exact ? 0 : float16_absolute_error))
            return false;
    return true;
}

}  // namespace

TEST_CASE("a model file round-trips everything it describes") {
    test::TemporaryFolder folder;
    for (auto storage : {WeightStorage::f32, WeightStorage::f16}) {
        for (const char* arch : {"seed", "kanade"}) {
            CAPTURE(arch);
            auto model = small_model(arch);
            save_model(model, folder / "m.kmodel", storage);
            auto loaded = load_model(folder / "m.kmodel");
            CHECK(loaded.config.arch == arch);
            CHECK(loaded.config.hidden == 16);
            CHECK(loaded.tokenizer == "kanade");
            CHECK(loaded.vocabulary == model.vocabulary);
            CHECK(loaded.info.at("note") == "made by a test");
            CHECK(bool(loaded.primers == model.primers));  // (no printer for a Primer)
            CHECK(same_weights(model.network, loaded.network, storage));
        }
    }
}

TEST_CASE("the weight count implied by a config matches the network built from it") {
    for (const char* arch : {"seed", "kanade"})
        for (int layers : {1, 2, 3}) {
            if (std::string(arch) == "seed" && layers != 2) continue;
            auto model = small_model(arch);
            model.config.layers = layers;
            model.config.hidden = 24;
            CAPTURE(arch);
            CAPTURE(layers);
            CHECK(parameter_count(model.config) == Network(model.config)->parameter_count());
        }
    NetworkConfig student;
    student.arch = "seed";
    student.vocab_size = 303;
    CHECK(parameter_count(student) == 3'307'311);  // the student network, as Keras counted it
}

TEST_CASE("corrupt, truncated and mismatched model files are refused with the reason") {
    test::TemporaryFolder folder;
    auto model = small_model();
    auto path = folder / "m.kmodel";
    save_model(model, path);
    const auto bytes = read_all(path);

    SUBCASE("a flipped weight byte fails the checksum") {
        auto corrupt = bytes;
        corrupt[corrupt.size() - 10] ^= 0x40;
        write_all(path, corrupt);
        CHECK_THROWS_WITH_AS(load_model(path), doctest::Contains("checksum"), ModelFileError);
    }
    SUBCASE("a truncated file says where the weights end") {
        write_all(path, bytes.substr(0, bytes.size() - 100));
        CHECK_THROWS_WITH_AS(load_model(path), doctest::Contains("truncated"), ModelFileError);
    }
    SUBCASE(
        "a data line claiming 2^64 - 1 bytes (found writing the whole-file fuzz harness: the end it implied wrapped)") {
        auto edited = bytes;
        const auto size = edited.find("\ndata ") + 6;
        edited.replace(size, edited.find(' ', size) - size, "18446744073709551615");
        write_all(path, edited);
        // It named the end as offset + size, which wrapped to a byte inside the header.
        CHECK_THROWS_WITH_AS(load_model(path),
                             doctest::Contains("says 18446744073709551615 bytes of weights from byte"), ModelFileError);
    }
    SUBCASE("a primer token outside the vocabulary names its line") {
        auto edited = bytes;
        const auto at = edited.find("primer 16 1 2 3\n");
        REQUIRE(at != std::string::npos);
        edited.replace(at, 16, "primer 16 1 2 999\n");
        write_all(path, edited);
        CHECK_THROWS_WITH_AS(load_model(path), doctest::Contains("primer: token 999 outside the vocabulary"),
                             ModelFileError);
    }
    SUBCASE("truncated inside the header") {
        write_all(path, bytes.substr(0, 60));
        CHECK_THROWS_AS(load_model(path), ModelFileError);
    }
    SUBCASE("not a model file at all") {
        write_all(path, "MThd\0\0\0\6garbage");
        CHECK_THROWS_WITH_AS(load_model(path), doctest::Contains("bad magic"), ModelFileError);
    }
    SUBCASE("a header describing another shape names the tensor") {
        auto edited = bytes;
        auto at = edited.find("hidden 16\n");
        REQUIRE(at != std::string::npos);
        edited.replace(at, 10, "hidden 15\n");
        write_all(path, edited);
        CHECK_THROWS_WITH_AS(load_model(path), doctest::Contains("lstm1.weight_ih"), ModelFileError);
    }
    SUBCASE("a header claiming a huge network is refused before anything is allocated") {
        auto edited = bytes;
        edited.replace(edited.find("hidden 16\n"), 10, "hidden 8192\n");
        edited.replace(edited.find("layers 2\n"), 9, "layers 8\n");
        write_all(path, edited);
        // 8 layers of 8192: 4 billion weights, 16 GB as floats, from a file of a few KB.
        CHECK_THROWS_WITH_AS(load_model(path), doctest::Contains("network of 4028073052 weights"), ModelFileError);
    }
    SUBCASE("an unknown architecture names the line") {
        auto edited = bytes;
        edited.replace(edited.find("arch kanade"), 11, "arch kanadX");
        write_all(path, edited);
        CHECK_THROWS_WITH_AS(load_model(path), doctest::Contains("line"), ModelFileError);
    }
    SUBCASE("a data line whose checksum is not hex (found by fuzzing: std::stoul's exception escaped)") {
        auto edited = bytes;
        const auto data = edited.find("\ndata ");
        const auto crc = edited.find("crc32 ", data) + 6;
        edited.replace(crc, 8, "-o      ");
        write_all(path, edited);
        CHECK_THROWS_WITH_AS(load_model(path), doctest::Contains("checksum '-o'"), ModelFileError);
        edited.replace(data + 6, 1, "-");  // a negative size
        write_all(path, edited);
        CHECK_THROWS_AS(load_model(path), ModelFileError);
    }
    SUBCASE("a newer format version") {
        auto edited = bytes;
        edited.replace(0, 14, "kanade-model 9");
        write_all(path, edited);
        CHECK_THROWS_WITH_AS(load_model(path), doctest::Contains("version 9"), ModelFileError);
    }
    SUBCASE("a missing file") {
        CHECK_THROWS_WITH_AS(load_model(folder / "absent.kmodel"), doctest::Contains("absent.kmodel"), ModelFileError);
    }
}

TEST_CASE("mutated model files load or are refused with ModelFileError, 3,000 times over") {
    test::TemporaryFolder folder;
    auto path = folder / "m.kmodel";
    std::vector<std::string> originals;
    for (const char* arch : {"seed", "kanade"}) {
        save_model(small_model(arch), path);
        originals.push_back(read_all(path));
    }
    std::mt19937 random(99);
    int loaded = 0, refused = 0;
    for (int round = 0; round < 3000; ++round) {
        auto bytes = originals[static_cast<std::size_t>(round) % originals.size()];
        const auto header_end = bytes.find("\ndata ") + 1;
        for (int edit = 0; edit < 1 + static_cast<int>(random() % 3); ++edit) {
            // Mostly the text header, where a lie could mislead the loader; the weights are CRC'd.
            const auto span = random() % 5 ? header_end : bytes.size();
            const auto at = random() % span;
            switch (random() % 4) {
                case 0: bytes[at] = static_cast<char>(random()); break;
                case 1: bytes[at] = "0123456789 \n-"[random() % 14]; break;  // numbers and structure
                case 2: bytes.erase(at, 1 + random() % 8); break;
                case 3: bytes.insert(at, std::to_string(random() % 100000)); break;
            }
        }
        write_all(path, bytes);
        try {
            load_model(path);
            ++loaded;
        } catch (const ModelFileError&) {
            ++refused;
        }
    }
    MESSAGE(loaded << " mutated model files loaded, " << refused << " refused");
    CHECK(loaded + refused == 3000);
    CHECK(refused > 0);
}
