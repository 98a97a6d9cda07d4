// The text encodings of the vault format (spec §1). Node names are found by
// string comparison, so the encoders must produce exactly one canonical form
// and the decoders must refuse every other spelling.
#include "vaultcore/codec.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vaultcore {
namespace {

struct Rfc4648Case {
  std::string text;
  std::string base64;
  std::string base32;
};

// RFC 4648 §10 test vectors.
const std::vector<Rfc4648Case>& Rfc4648Cases() {
  static const std::vector<Rfc4648Case> cases = {
      {"", "", ""},
      {"f", "Zg==", "MY======"},
      {"fo", "Zm8=", "MZXQ===="},
      {"foo", "Zm9v", "MZXW6==="},
      {"foob", "Zm9vYg==", "MZXW6YQ="},
      {"fooba", "Zm9vYmE=", "MZXW6YTB"},
      {"foobar", "Zm9vYmFy", "MZXW6YTBOI======"},
  };
  return cases;
}

std::string StripPadding(std::string text) {
  while (!text.empty() && text.back() == '=') text.pop_back();
  return text;
}

// Every byte value, so both alphabets' last two characters get exercised.
Bytes Sample(size_t size) {
  Bytes bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>(i * 167 + 13);
  return bytes;
}

TEST(Base64Test, Rfc4648Vectors) {
  for (const auto& c : Rfc4648Cases()) {
    SCOPED_TRACE(c.text);
    const auto bytes = AsBytes(c.text);
    EXPECT_EQ(EncodeBase64(bytes, Base64Alphabet::kStandard, Base64Padding::kPadded), c.base64);
    EXPECT_EQ(EncodeBase64(bytes, Base64Alphabet::kUrl, Base64Padding::kUnpadded),
              StripPadding(c.base64));
    EXPECT_EQ(DecodeBase64(c.base64, Base64Alphabet::kStandard, Base64Padding::kPadded),
              Bytes(bytes.begin(), bytes.end()));
    EXPECT_EQ(DecodeBase64(StripPadding(c.base64), Base64Alphabet::kUrl, Base64Padding::kUnpadded),
              Bytes(bytes.begin(), bytes.end()));
  }
}

TEST(Base64Test, AlphabetsDifferOnlyInTheLastTwoCharacters) {
  const Bytes bytes = {0xfb, 0xff, 0xbf};
  EXPECT_EQ(EncodeBase64(bytes, Base64Alphabet::kStandard, Base64Padding::kPadded), "+/+/");
  EXPECT_EQ(EncodeBase64(bytes, Base64Alphabet::kUrl, Base64Padding::kPadded), "-_-_");
  EXPECT_EQ(DecodeBase64("+/+/", Base64Alphabet::kStandard, Base64Padding::kPadded), bytes);
  EXPECT_EQ(DecodeBase64("-_-_", Base64Alphabet::kUrl, Base64Padding::kPadded), bytes);
}

TEST(Base64Test, RoundTripsEveryLengthInEveryForm) {
  for (size_t size = 0; size <= 70; ++size) {
    SCOPED_TRACE(size);
    const Bytes bytes = Sample(size);
    for (auto alphabet : {Base64Alphabet::kStandard, Base64Alphabet::kUrl}) {
      for (auto padding : {Base64Padding::kPadded, Base64Padding::kUnpadded}) {
        const std::string text = EncodeBase64(bytes, alphabet, padding);
        if (padding == Base64Padding::kPadded) {
          EXPECT_EQ(text.size(), (size + 2) / 3 * 4);
        } else {
          EXPECT_EQ(text.find('='), std::string::npos);
          EXPECT_EQ(text.size(), (size * 4 + 2) / 3);
        }
        EXPECT_EQ(DecodeBase64(text, alphabet, padding), bytes) << text;
      }
    }
  }
}

TEST(Base64Test, PaddedDecoderRequiresExactPadding) {
  constexpr auto kStd = Base64Alphabet::kStandard;
  constexpr auto kPadded = Base64Padding::kPadded;
  // Missing padding: the spelling Cryptomator's listing would not see.
  EXPECT_FALSE(DecodeBase64("Zg", kStd, kPadded));
  EXPECT_FALSE(DecodeBase64("Zm8", kStd, kPadded));
  EXPECT_FALSE(DecodeBase64("Zm9vYg", kStd, kPadded));
  // Too much, too little or misplaced padding.
  EXPECT_FALSE(DecodeBase64("Zg=", kStd, kPadded));
  EXPECT_FALSE(DecodeBase64("Zg===", kStd, kPadded));
  EXPECT_FALSE(DecodeBase64("Zm8==", kStd, kPadded));
  EXPECT_FALSE(DecodeBase64("Zm9v=", kStd, kPadded));
  EXPECT_FALSE(DecodeBase64("Zm9v====", kStd, kPadded));
  EXPECT_FALSE(DecodeBase64("Z===", kStd, kPadded));
  EXPECT_FALSE(DecodeBase64("====", kStd, kPadded));
  EXPECT_FALSE(DecodeBase64("Zg==Zm8=", kStd, kPadded));
  EXPECT_FALSE(DecodeBase64("Z=g=", kStd, kPadded));
}

TEST(Base64Test, UnpaddedDecoderRejectsPadding) {
  constexpr auto kUrl = Base64Alphabet::kUrl;
  constexpr auto kUnpadded = Base64Padding::kUnpadded;
  EXPECT_FALSE(DecodeBase64("Zg==", kUrl, kUnpadded));
  EXPECT_FALSE(DecodeBase64("Zm8=", kUrl, kUnpadded));
  EXPECT_FALSE(DecodeBase64("Zm9v=", kUrl, kUnpadded));
  // A length of 4k + 1 characters cannot come from any byte string.
  EXPECT_FALSE(DecodeBase64("Z", kUrl, kUnpadded));
  EXPECT_FALSE(DecodeBase64("Zm9vY", kUrl, kUnpadded));
}

TEST(Base64Test, RejectsCharactersOutsideTheAlphabet) {
  constexpr auto kPadded = Base64Padding::kPadded;
  EXPECT_FALSE(DecodeBase64("-_-_", Base64Alphabet::kStandard, kPadded));
  EXPECT_FALSE(DecodeBase64("+/+/", Base64Alphabet::kUrl, kPadded));
  for (const std::string bad : {"Zm9v\n", " Zm9v", "Zm 9", "Zm.v", "Zm9\xc3", "Zm\tv"}) {
    for (auto alphabet : {Base64Alphabet::kStandard, Base64Alphabet::kUrl}) {
      for (auto padding : {Base64Padding::kPadded, Base64Padding::kUnpadded}) {
        EXPECT_FALSE(DecodeBase64(bad, alphabet, padding)) << bad;
      }
    }
  }
  EXPECT_FALSE(DecodeBase64(std::string("Zm\0v", 4), Base64Alphabet::kStandard, kPadded));
}

TEST(Base64Test, RejectsNonZeroTrailingBits) {
  // "Zg==" and "Zm8=" are canonical; the next character sets an unused bit,
  // which lenient decoders silently drop (giving a second name for a node).
  EXPECT_FALSE(DecodeBase64("Zh==", Base64Alphabet::kStandard, Base64Padding::kPadded));
  EXPECT_FALSE(DecodeBase64("Zm9=", Base64Alphabet::kStandard, Base64Padding::kPadded));
  EXPECT_FALSE(DecodeBase64("Zh", Base64Alphabet::kUrl, Base64Padding::kUnpadded));
  EXPECT_FALSE(DecodeBase64("Zm9", Base64Alphabet::kUrl, Base64Padding::kUnpadded));
  EXPECT_TRUE(DecodeBase64("Zg==", Base64Alphabet::kStandard, Base64Padding::kPadded));
  EXPECT_TRUE(DecodeBase64("Zm8", Base64Alphabet::kUrl, Base64Padding::kUnpadded));
}

TEST(Base32Test, Rfc4648Vectors) {
  for (const auto& c : Rfc4648Cases()) {
    EXPECT_EQ(EncodeBase32(AsBytes(c.text)), c.base32) << c.text;
  }
}

TEST(Base32Test, DirectoryHashNeedsNoPadding) {
  // A SHA-1 digest (20 bytes = 160 bits) is exactly 32 characters.
  const std::string text = EncodeBase32(Sample(20));
  EXPECT_EQ(text.size(), 32u);
  EXPECT_EQ(text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), std::string::npos);
}

TEST(HexTest, EncodesLowerCaseAndRoundTrips) {
  const Bytes bytes = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
  EXPECT_EQ(EncodeHex(bytes), "00017f80abff");
  EXPECT_EQ(EncodeHex(Bytes{}), "");
  EXPECT_EQ(DecodeHex("00017f80abff"), bytes);
  EXPECT_EQ(DecodeHex("00017F80ABFF"), bytes);
  EXPECT_EQ(DecodeHex(""), Bytes{});
  const Bytes sample = Sample(256);
  EXPECT_EQ(DecodeHex(EncodeHex(sample)), sample);
}

TEST(HexTest, RejectsOddLengthAndNonHexCharacters) {
  EXPECT_FALSE(DecodeHex("0"));
  EXPECT_FALSE(DecodeHex("abc"));
  EXPECT_FALSE(DecodeHex("0g"));
  EXPECT_FALSE(DecodeHex("zz"));
  EXPECT_FALSE(DecodeHex(" 0"));
  EXPECT_FALSE(DecodeHex("0x00"));
}

}  // namespace
}  // namespace vaultcore
