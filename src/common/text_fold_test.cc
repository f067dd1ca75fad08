#include "common/text_fold.h"

#include <gtest/gtest.h>

namespace pactum {
namespace {

std::string Fold(std::string_view s) {
  auto r = FoldForMatching(s);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::string();
}

TEST(TextFold, FoldsCaseBeyondAscii) {
  EXPECT_EQ(Fold("ÄRZTEKAMMER Nord"), "ärztekammer nord");
  EXPECT_EQ(Fold("ΩMEGA"), Fold("ωmega"));
  EXPECT_EQ(Fold("Straße"), "strasse") << "full folding: ß matches ss";
  EXPECT_EQ(Fold("STRASSE"), Fold("straße"));
}

TEST(TextFold, UnifiesCompatibilityAndCompositionForms) {
  EXPECT_EQ(Fold("ＡＣＭＥ"), "acme") << "full-width letters";
  EXPECT_EQ(Fold("\xef\xac\x81nance"), "finance") << "the fi ligature";
  EXPECT_EQ(Fold("Cafe\xcc\x81"), Fold("Caf\xc3\xa9")) << "decomposed and composed é";
}

TEST(TextFold, LeavesPunctuationAndSqlWildcardsAlone) {
  // Escaping wildcards is the query's business; folding must not add or drop them.
  EXPECT_EQ(Fold("100% _Net_ O'Brien \\ \"Q\""), "100% _net_ o'brien \\ \"q\"");
  EXPECT_EQ(Fold(""), "");
}

TEST(TextFold, InvalidUtf8BecomesReplacementCharacters) {
  EXPECT_EQ(Fold("a\xff"), "a\xef\xbf\xbd");
}

}  // namespace
}  // namespace pactum
