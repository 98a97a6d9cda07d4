// NFC normalisation of names and passwords (spec §3.2, §5.3).
#include "vaultcore/unicode.h"

#include <gtest/gtest.h>

#include <string>

namespace vaultcore {
namespace {

TEST(NormalizeNfcTest, ComposesDecomposedLatin) {
  // "é" as e + COMBINING ACUTE ACCENT (macOS) becomes U+00E9.
  EXPECT_EQ(NormalizeNfc("cafe\xcc\x81"), "caf\xc3\xa9");
  EXPECT_EQ(NormalizeNfc("Zoe\xcc\x88.txt"), "Zo\xc3\xab.txt");
  // Two marks on one base: ṩ (s + dot below + dot above) is U+1E69.
  EXPECT_EQ(NormalizeNfc("s\xcc\xa3\xcc\x87"), "\xe1\xb9\xa9");
  // Canonical reordering: dot above then dot below also gives U+1E69.
  EXPECT_EQ(NormalizeNfc("s\xcc\x87\xcc\xa3"), "\xe1\xb9\xa9");
}

TEST(NormalizeNfcTest, ComposesHangulJamo) {
  // 한 = U+1112 U+1161 U+11AB (leading, vowel, trailing jamo) -> U+D55C.
  EXPECT_EQ(NormalizeNfc("\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab"), "\xed\x95\x9c");
  // 한글 with both syllables decomposed.
  EXPECT_EQ(NormalizeNfc("\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab"
                         "\xe1\x84\x80\xe1\x85\xb3\xe1\x86\xaf"),
            "\xed\x95\x9c\xea\xb8\x80");
}

TEST(NormalizeNfcTest, LeavesAsciiAndNfcUnchanged) {
  for (const std::string text :
       {"", "a", "hello.txt", "with space/and\ttab", "\x7f", "caf\xc3\xa9", "\xed\x95\x9c",
        "\xf0\x9f\xa6\x80 crab.txt", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e.txt"}) {
    EXPECT_EQ(NormalizeNfc(text), text);
  }
  EXPECT_EQ(NormalizeNfc(std::string("a\0b", 3)), std::string("a\0b", 3));
}

TEST(NormalizeNfcTest, IsNotCompatibilityNormalisation) {
  // NFKC would turn these into "fi", "2" and "A"; NFC must not (§5.3).
  for (const std::string text : {"\xef\xac\x81", "\xc2\xb2", "\xef\xbc\xa1"}) {
    EXPECT_EQ(NormalizeNfc(text), text);
  }
}

TEST(NormalizeNfcTest, ReturnsInvalidUtf8Unchanged) {
  for (const std::string text : {"\xff", "abc\xfe", "caf\xc3", "e\xcc\x81\x80", "\xc0\xaf",
                                 "\xed\xa0\x80", "\xf4\x90\x80\x80"}) {
    EXPECT_EQ(NormalizeNfc(text), text);
  }
}

TEST(IsValidUtf8Test, AcceptsWellFormedText) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9"));
  EXPECT_TRUE(IsValidUtf8("e\xcc\x81"));
  EXPECT_TRUE(IsValidUtf8("\xed\x95\x9c"));
  EXPECT_TRUE(IsValidUtf8("\xf0\x9f\xa6\x80"));
  EXPECT_TRUE(IsValidUtf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF, the last code point
}

TEST(IsValidUtf8Test, RejectsMalformedText) {
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\x80"));              // lone continuation byte
  EXPECT_FALSE(IsValidUtf8("caf\xc3"));           // truncated sequence
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));          // truncated three-byte sequence
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong "/"
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // overlong "/" in three bytes
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // UTF-16 surrogate U+D800
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // beyond U+10FFFF
  EXPECT_FALSE(
      IsValidUtf8("ok\xfe"
                  "ok"));
}

}  // namespace
}  // namespace vaultcore
