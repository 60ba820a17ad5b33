#include "kanade/music/corpus.hpp"
#include "kanade/music/token_corpus.hpp"

#include "../test_paths.hpp"
#include "../skip.hpp"

#include <doctest/doctest.h>

#include <fstream>

using namespace kanade;
using namespace kanade::music;

TEST_CASE("the split depends on the file name alone") {
    CHECK(split_of("/a/b/song.mid") == split_of("/elsewhere/song.mid"));
    std::size_t counts[3] = {0, 0, 0};
    for (int i = 0; i < 1000; ++i) ++counts[static_cast<int>(split_of("piece-" + std::to_string(i) + ".mid"))];
    CHECK(counts[0] > 700);
    CHECK(counts[1] > 60);
    CHECK(counts[2] > 60);
}

TEST_CASE("the Debian corpus loads whole, and both tokenizers cover it") {
    if (!std::filesystem::exists(test::openmsx_dir) || !std::filesystem::exists(test::simutrans_dir)) {
        test::skip("corpus", "the corpus packages (openttd-openmsx, simutrans-data) are not installed");
        return;
    }
    auto corpus = load_corpus({test::openmsx_dir, test::simutrans_dir});
    CHECK(corpus.errors.empty());
    CHECK(corpus.files.size() == 84);
    std::size_t per_split[3] = {0, 0, 0};
    for (const auto& file : corpus.files) ++per_split[static_cast<int>(file.split)];
    CHECK(per_split[1] > 0);
    CHECK(per_split[2] > 0);
    for (const auto& file : corpus.files) {
        CAPTURE(file.path);
        CHECK(!file.notes.empty());
        CHECK(file.seconds > 10);
        for (const auto& note : file.notes) REQUIRE(note.channel != midi::drum_channel);
    }
    auto seed = tokenize_corpus(corpus, *make_tokenizer("seed"));
    auto kanade = tokenize_corpus(corpus, *make_tokenizer("kanade"));
    CHECK(seed.skipped_tokens == 0);
    CHECK(kanade.skipped_tokens == 0);
    CHECK(kanade.vocabulary.size() == 124);
    CHECK(seed.vocabulary.size() > 100);
    CHECK(kanade.token_count() > 2 * seed.token_count());  // kanade tokens say more per onset

    TokenizeOptions cut;
    cut.min_count = 5;
    auto rare_cut = tokenize_corpus(corpus, *make_tokenizer("seed"), cut);
    CHECK(rare_cut.vocabulary.size() < seed.vocabulary.size());
    CHECK(rare_cut.skipped_tokens > 0);
}

TEST_CASE("an unreadable file is reported by name and the rest still load") {
    test::TemporaryFolder folder;
    std::ofstream(folder / "broken.mid") << "MThd garbage";
    auto corpus = load_corpus({folder.path()});
    CHECK(corpus.files.empty());
    REQUIRE(corpus.errors.size() == 1);
    CHECK(corpus.errors.front().find("broken.mid") != std::string::npos);
}
