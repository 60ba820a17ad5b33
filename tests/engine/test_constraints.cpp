#include "kanade/engine/constraints.hpp"
#include "kanade/music/kanade_tokenizer.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <span>
#include <stdexcept>
#include <vector>

using namespace kanade;
using engine::Constraints;
using engine::TokenMask;

namespace {

// The logits and mask a constraint set leaves on the kanade vocabulary, from flat logits.
struct Applied {
    music::Vocabulary vocabulary = *music::KanadeTokenizer().fixed_vocabulary();
    std::vector<float> logits = std::vector<float>(vocabulary.size(), 0.0f);
    std::vector<char> mask = std::vector<char>(vocabulary.size(), 1);

    Applied(const Constraints& constraints, engine::LineState line = {}, std::vector<int> recent = {}) {
        TokenMask token_mask(music::TokenTable(vocabulary, "kanade"));
        auto flags = std::make_unique<bool[]>(vocabulary.size());
        for (std::size_t i = 0; i < vocabulary.size(); ++i) flags[i] = true;
        token_mask.apply(constraints, line, recent, logits, std::span<bool>(flags.get(), vocabulary.size()));
        for (std::size_t i = 0; i < vocabulary.size(); ++i) mask[i] = flags[i];
    }
    int id(const std::string& token) const { return *vocabulary.id_of(token); }
    float logit(const std::string& token) const { return logits[static_cast<std::size_t>(id(token))]; }
    bool allowed(const std::string& token) const { return mask[static_cast<std::size_t>(id(token))] != 0; }
};

}  // namespace

TEST_CASE("a scale allows its notes in every octave and nothing else") {
    Constraints constraints;
    constraints.set_scale("D dorian");
    CHECK(constraints.scale_text() == "D dorian");
    Applied applied(constraints);
    for (int pitch : {62, 64, 65, 67, 69, 71, 72, 38, 96}) CHECK(applied.allowed("P" + std::to_string(pitch)));
    for (int pitch : {63, 66, 68, 70, 73, 39}) CHECK_FALSE(applied.allowed("P" + std::to_string(pitch)));
    CHECK(applied.allowed("W4"));
    CHECK(applied.allowed("V3"));

    CHECK_THROWS_AS(constraints.set_scale("H major"), std::invalid_argument);
    CHECK_THROWS_AS(constraints.set_scale("C phrygian-ish"), std::invalid_argument);
    constraints.set_scale("chromatic");
    CHECK(constraints.scale_text() == "chromatic");
}

TEST_CASE("the pitch range and polyphony forbid notes, a first answer note cannot wait") {
    Constraints constraints;
    constraints.lowest_pitch = 48;
    constraints.highest_pitch = 72;
    constraints.max_polyphony = 3;
    Applied roomy(constraints, {.notes_on_step = 1});
    CHECK(roomy.allowed("P48"));
    CHECK(roomy.allowed("P72"));
    CHECK_FALSE(roomy.allowed("P47"));
    CHECK_FALSE(roomy.allowed("P73"));
    Applied full(constraints, {.notes_on_step = 3});  // three notes already start on this step
    CHECK_FALSE(full.allowed("P60"));
    CHECK(full.allowed("W1"));
    Applied answer(constraints, {.must_start_note = true});
    CHECK_FALSE(answer.allowed("W1"));
    CHECK_FALSE(answer.allowed("W16"));
    CHECK(answer.allowed("P60"));
}

TEST_CASE("after a pitch only its duration may follow: a wait there would drop the note") {
    Constraints constraints;
    Applied applied(constraints, {.awaiting_duration = true});
    for (const auto& token : applied.vocabulary.tokens()) {
        CAPTURE(token);
        CHECK(applied.allowed(token) == (token[0] == 'D'));
    }
    Applied free(constraints);
    CHECK(free.allowed("W4"));
    CHECK(free.allowed("P60"));
}

TEST_CASE("density moves only the rests, by log(density)") {
    Constraints constraints;
    constraints.density = 2.0;
    Applied applied(constraints);
    CHECK(applied.logit("W4") == doctest::Approx(-std::log(2.0)));
    CHECK(applied.logit("P60") == 0.0f);
    CHECK(applied.logit("V5") == 0.0f);
}

TEST_CASE("energy tilts dynamics, rests and lengths together, and 0 leaves the model alone") {
    Constraints calm, neutral, driving;
    calm.energy = -1;
    driving.energy = 1;
    Applied low(calm), middle(neutral), high(driving);
    for (const auto& token : middle.vocabulary.tokens()) CHECK_MESSAGE(middle.logit(token) == 0.0f, token);

    // Louder bins rise monotonically with energy, softer ones fall; the tilt mirrors.
    for (int bin = 1; bin < music::KanadeTokenizer::velocity_bins; ++bin) {
        auto soft = "V" + std::to_string(bin), loud = "V" + std::to_string(bin + 1);
        CHECK(high.logit(loud) > high.logit(soft));
        CHECK(low.logit(loud) < low.logit(soft));
        CHECK(low.logit(soft) == doctest::Approx(-high.logit(soft)));
    }
    CHECK(high.logit("D1") > high.logit("D4"));
    CHECK(high.logit("D4") > high.logit("D48"));
    CHECK(low.logit("D48") > low.logit("D1"));
    CHECK(high.logit("W2") < 0);
    CHECK(low.logit("W2") > 0);
    CHECK(high.logit("P60") == 0.0f);  // which notes is still the model's choice
    for (const auto& token : high.vocabulary.tokens()) CHECK(high.allowed(token));

    Constraints beyond;
    beyond.energy = 7;  // a value out of range acts as the nearest end
    Applied clamped(beyond);
    CHECK(clamped.logit("V8") == doctest::Approx(high.logit("V8")));
}

TEST_CASE("energy on seed tokens favours fuller chords") {
    music::Vocabulary vocabulary({"0.4.7", "4.7", "C4", "D4"});
    TokenMask token_mask(music::TokenTable(vocabulary, "seed"));
    Constraints constraints;
    constraints.energy = 1;
    std::vector<float> logits(vocabulary.size(), 0.0f);
    bool mask[4] = {true, true, true, true};
    token_mask.apply(constraints, {}, {}, logits, mask);
    CHECK(logits[0] > logits[1]);
    CHECK(logits[1] > logits[2]);
    CHECK(logits[2] == logits[3]);
}

TEST_CASE("the repetition guard pulls down the notes just played, whatever their sign") {
    Constraints constraints;
    constraints.repetition_penalty = 2.0;
    music::Vocabulary vocabulary = *music::KanadeTokenizer().fixed_vocabulary();
    TokenMask token_mask(music::TokenTable(vocabulary, "kanade"));
    std::vector<float> logits(vocabulary.size(), 0.0f);
    const int up = *vocabulary.id_of("P60"), down = *vocabulary.id_of("P64"), wait = *vocabulary.id_of("W4");
    logits[static_cast<std::size_t>(up)] = 2.0f;
    logits[static_cast<std::size_t>(down)] = -2.0f;
    logits[static_cast<std::size_t>(wait)] = 2.0f;
    auto mask = std::make_unique<bool[]>(vocabulary.size());
    std::vector<int> recent = {up, down, wait, 9999, -3};  // stray ids are ignored
    token_mask.apply(constraints, {}, recent, logits, std::span<bool>(mask.get(), vocabulary.size()));
    CHECK(logits[static_cast<std::size_t>(up)] == doctest::Approx(1.0f));
    CHECK(logits[static_cast<std::size_t>(down)] == doctest::Approx(-4.0f));
    CHECK(logits[static_cast<std::size_t>(wait)] == doctest::Approx(2.0f));  // rests are not "repeated notes"
}
