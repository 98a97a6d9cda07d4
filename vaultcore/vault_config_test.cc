// vault.cryptomator (spec §4): the JWTs of vault_config.json, the token we
// write, and tokens a hostile or broken writer could produce.
#include "vaultcore/vault_config.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "tests/testing.h"
#include "vaultcore/codec.h"
#include "vaultcore/crypto.h"

namespace vaultcore {
namespace {

using vaultnfs::testing::HasCode;
using vaultnfs::testing::Str;

using nlohmann::json;
using vaultnfs::testing::Hex;
using vaultnfs::testing::LoadVectors;

std::string B64Url(std::string_view text) {
  return EncodeBase64(AsBytes(text), Base64Alphabet::kUrl, Base64Padding::kUnpadded);
}

std::string DecodeSegment(std::string_view segment) {
  auto bytes = DecodeBase64(segment, Base64Alphabet::kUrl, Base64Padding::kUnpadded);
  EXPECT_TRUE(bytes.has_value()) << segment;
  return bytes ? std::string(AsChars(*bytes)) : std::string();
}

// A K_enc ‖ K_mac of 64 bytes, as vault.cryptomator is signed with.
const Bytes& TestKey() {
  static const Bytes key = [] {
    Bytes k(64);
    for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(i * 7 + 1);
    return k;
  }();
  return key;
}

const json kPasswordHeader = {
    {"kid", "masterkeyfile:masterkey.cryptomator"}, {"typ", "JWT"}, {"alg", "HS256"}};
const json kGoodPayload = {{"format", 8},
                           {"shorteningThreshold", 220},
                           {"jti", "6b1e6ec5-8e0f-4a7a-9b47-3c0f0f3d7f3e"},
                           {"cipherCombo", "SIV_GCM"}};

// A token as any writer could build it: the given JSON, signed with HMAC
// (`digest`) under `key`, so only the content decides whether it passes.
std::string MakeToken(const json& header, const json& payload, const Bytes& key = TestKey(),
                      const char* digest = "SHA256") {
  const std::string signed_part = B64Url(header.dump()) + "." + B64Url(payload.dump());
  auto mac = Hmac(digest, key, AsBytes(signed_part));
  EXPECT_TRUE(mac.ok()) << mac.status().ToString();
  return signed_part + "." +
         EncodeBase64(mac.ok() ? *mac : Bytes{}, Base64Alphabet::kUrl, Base64Padding::kUnpadded);
}

json WithMember(json object, const char* name, json value) {
  object[name] = std::move(value);
  return object;
}

void ExpectValid(const json& v) {
  const std::string token = Str(v, "token");
  auto config = VerifyVaultConfig(token, Hex(Str(v, "raw_key")));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  const json& header = v.at("header");
  const json& payload = v.at("payload");
  EXPECT_EQ(config->format, payload.at("format").get<int>());
  EXPECT_EQ(CipherComboName(config->cipher_combo), Str(payload, "cipherCombo"));
  EXPECT_EQ(config->shortening_threshold, payload.at("shorteningThreshold").get<int>());
  EXPECT_EQ(config->jti, Str(payload, "jti"));
  EXPECT_EQ(config->algorithm, Str(header, "alg"));
  EXPECT_EQ(config->key_id, Str(header, "kid"));

  // The key id is readable before anything is verified; only password
  // (masterkeyfile) vaults are ours.
  auto kid = ReadVaultConfigKeyId(token);
  if (Str(header, "kid").starts_with("masterkeyfile:")) {
    ASSERT_TRUE(kid.ok()) << kid.status().ToString();
    EXPECT_EQ(*kid, Str(header, "kid"));
  } else {
    EXPECT_TRUE(HasCode(kid.status(), Errc::kUnsupported));
  }
}

TEST(VaultConfigTest, KnownAnswers) {
  const json vectors = LoadVectors("vault_config.json").at("vectors");
  ASSERT_FALSE(vectors.empty());
  for (const auto& v : vectors) {
    SCOPED_TRACE(Str(v, "id"));
    const std::string expect = Str(v, "expect");
    if (expect == "valid") {
      ExpectValid(v);
      continue;
    }
    ASSERT_TRUE(expect.starts_with("reject")) << "unknown expectation " << expect;
    auto config = VerifyVaultConfig(Str(v, "token"), Hex(Str(v, "raw_key")));
    ASSERT_FALSE(config.ok()) << "accepted";
    // A signature mismatch means this masterkey belongs to another vault.
    if (expect.find("signature mismatch") != std::string::npos) {
      EXPECT_TRUE(HasCode(config.status(), Errc::kWrongPassword));
    }
  }
}

TEST(VaultConfigTest, ToleratesTrailingWhitespace) {
  for (const auto& v : LoadVectors("vault_config.json").at("vectors").get<std::vector<json>>()) {
    if (Str(v, "expect") != "valid") continue;
    SCOPED_TRACE(Str(v, "id"));
    EXPECT_TRUE(VerifyVaultConfig(Str(v, "token") + "\n", Hex(Str(v, "raw_key"))).ok());
    EXPECT_TRUE(VerifyVaultConfig(Str(v, "token") + "\r\n", Hex(Str(v, "raw_key"))).ok());
  }
}

TEST(VaultConfigTest, SignThenVerifyRoundTrips) {
  for (const char* alg : {"HS256", "HS384", "HS512"}) {
    for (auto combo : {CipherCombo::kSivGcm, CipherCombo::kSivCtrMac}) {
      SCOPED_TRACE(std::string(alg) + " " + std::string(CipherComboName(combo)));
      VaultConfig config;
      config.algorithm = alg;
      config.cipher_combo = combo;
      config.shortening_threshold = 36;
      config.jti = "0f1c5d2e-3b4a-4c6d-8e9f-a0b1c2d3e4f5";
      auto token = SignVaultConfig(config, TestKey());
      ASSERT_TRUE(token.ok()) << token.status().ToString();
      auto back = VerifyVaultConfig(*token, TestKey());
      ASSERT_TRUE(back.ok()) << back.status().ToString();
      EXPECT_EQ(back->format, 8);
      EXPECT_EQ(back->cipher_combo, combo);
      EXPECT_EQ(back->shortening_threshold, 36);
      EXPECT_EQ(back->jti, config.jti);
      EXPECT_EQ(back->algorithm, alg);
      EXPECT_EQ(back->key_id, config.key_id);
    }
  }
}

TEST(VaultConfigTest, WritesWhatCryptomatorWrites) {
  VaultConfig config;
  config.jti = "ea3282b3-3847-499b-82fd-a3723857a225";
  auto token = SignVaultConfig(config, TestKey());
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  // Compact JSON, members in this order, base64url without padding (§4).
  const size_t dot1 = token->find('.');
  const size_t dot2 = token->find('.', dot1 + 1);
  ASSERT_NE(dot2, std::string::npos);
  EXPECT_EQ(token->find('='), std::string::npos);
  EXPECT_EQ(DecodeSegment(std::string_view(*token).substr(0, dot1)),
            R"({"kid":"masterkeyfile:masterkey.cryptomator","typ":"JWT","alg":"HS256"})");
  EXPECT_EQ(DecodeSegment(std::string_view(*token).substr(dot1 + 1, dot2 - dot1 - 1)),
            R"({"format":8,"shorteningThreshold":220,"jti":")" + config.jti +
                R"(","cipherCombo":"SIV_GCM"})");
  auto kid = ReadVaultConfigKeyId(*token);
  ASSERT_TRUE(kid.ok()) << kid.status().ToString();
  EXPECT_EQ(*kid, "masterkeyfile:masterkey.cryptomator");
}

TEST(VaultConfigTest, RejectsTamperedTokens) {
  auto token = SignVaultConfig(VaultConfig{}, TestKey());
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  const size_t dot1 = token->find('.');
  const size_t dot2 = token->find('.', dot1 + 1);

  // A payload from elsewhere (here: another threshold) under the old signature.
  const std::string other_payload =
      B64Url(WithMember(kGoodPayload, "shorteningThreshold", 221).dump());
  const std::string swapped = token->substr(0, dot1 + 1) + other_payload + token->substr(dot2);
  EXPECT_TRUE(HasCode(VerifyVaultConfig(swapped, TestKey()).status(), Errc::kWrongPassword));

  // One character of the signature changed.
  std::string bad_signature = *token;
  bad_signature[dot2 + 1] = bad_signature[dot2 + 1] == 'A' ? 'B' : 'A';
  EXPECT_TRUE(HasCode(VerifyVaultConfig(bad_signature, TestKey()).status(), Errc::kWrongPassword));

  // A wrong key, and the key halves in SIV order instead of JWT order.
  Bytes wrong_key = TestKey();
  wrong_key[63] ^= 0x01;
  EXPECT_TRUE(HasCode(VerifyVaultConfig(*token, wrong_key).status(), Errc::kWrongPassword));
  Bytes swapped_halves(TestKey().begin() + 32, TestKey().end());
  swapped_halves.insert(swapped_halves.end(), TestKey().begin(), TestKey().begin() + 32);
  EXPECT_TRUE(HasCode(VerifyVaultConfig(*token, swapped_halves).status(), Errc::kWrongPassword));

  // No signature at all.
  EXPECT_FALSE(VerifyVaultConfig(token->substr(0, dot2 + 1), TestKey()).ok());
}

TEST(VaultConfigTest, RejectsAlgorithmsOtherThanHmacSha2) {
  // "none" with an empty signature, and "none" with a valid HMAC next to it.
  const json none = WithMember(kPasswordHeader, "alg", "none");
  const std::string unsigned_token = B64Url(none.dump()) + "." + B64Url(kGoodPayload.dump()) + ".";
  EXPECT_FALSE(VerifyVaultConfig(unsigned_token, TestKey()).ok());
  for (const char* alg : {"none", "None", "hs256", "HS256 ", "RS256", "ES256", "HS1", ""}) {
    SCOPED_TRACE(std::string("alg \"") + alg + "\"");
    EXPECT_FALSE(VerifyVaultConfig(MakeToken(WithMember(kPasswordHeader, "alg", alg), kGoodPayload),
                                   TestKey())
                     .ok());
  }
  json no_alg = kPasswordHeader;
  no_alg.erase("alg");
  EXPECT_FALSE(VerifyVaultConfig(MakeToken(no_alg, kGoodPayload), TestKey()).ok());

  // The header names the algorithm: an HS256 signature under "HS512" fails.
  EXPECT_TRUE(
      HasCode(VerifyVaultConfig(
                  MakeToken(WithMember(kPasswordHeader, "alg", "HS512"), kGoodPayload), TestKey())
                  .status(),
              Errc::kWrongPassword));
  EXPECT_TRUE(VerifyVaultConfig(MakeToken(WithMember(kPasswordHeader, "alg", "HS512"), kGoodPayload,
                                          TestKey(), "SHA512"),
                                TestKey())
                  .ok());
  VaultConfig none_config;
  none_config.algorithm = "none";
  EXPECT_FALSE(SignVaultConfig(none_config, TestKey()).ok());
}

TEST(VaultConfigTest, RejectsPayloadsOtherThanFormat8WithAKnownCombo) {
  // Correctly signed, so each rejection is about the content.
  ASSERT_TRUE(VerifyVaultConfig(MakeToken(kPasswordHeader, kGoodPayload), TestKey()).ok());
  json no_combo = kGoodPayload;
  no_combo.erase("cipherCombo");
  json no_format = kGoodPayload;
  no_format.erase("format");
  json no_threshold = kGoodPayload;
  no_threshold.erase("shorteningThreshold");
  const std::pair<const char*, json> bad_payloads[] = {
      {"unknown cipherCombo", WithMember(kGoodPayload, "cipherCombo", "SIV_CTRMAC_GCM")},
      {"lower-case cipherCombo", WithMember(kGoodPayload, "cipherCombo", "siv_gcm")},
      {"cipherCombo not a string", WithMember(kGoodPayload, "cipherCombo", 1)},
      {"no cipherCombo", no_combo},
      {"format 7", WithMember(kGoodPayload, "format", 7)},
      {"format 9", WithMember(kGoodPayload, "format", 9)},
      {"format as a string", WithMember(kGoodPayload, "format", "8")},
      {"format 8.5", WithMember(kGoodPayload, "format", 8.5)},
      // 2^32 + 8 is 8 only after truncation to 32 bits.
      {"format 2^32 + 8", WithMember(kGoodPayload, "format", (uint64_t{1} << 32) + 8)},
      {"no format", no_format},
      {"no shorteningThreshold", no_threshold},
      {"negative shorteningThreshold", WithMember(kGoodPayload, "shorteningThreshold", -1)},
      {"payload not an object", json::array({8})},
  };
  for (const auto& [what, payload] : bad_payloads) {
    SCOPED_TRACE(what);
    auto config = VerifyVaultConfig(MakeToken(kPasswordHeader, payload), TestKey());
    ASSERT_FALSE(config.ok()) << "accepted";
    EXPECT_NE(config.status().code(), Errc::kWrongPassword) << config.status().ToString();
  }
}

TEST(VaultConfigTest, RejectsMalformedTokens) {
  const std::string good = MakeToken(kPasswordHeader, kGoodPayload);
  for (const std::string& bad :
       {std::string(), std::string("."), std::string(".."), std::string("a.b"), good + ".extra",
        "!!!." + good.substr(good.find('.') + 1),
        B64Url("not json") + good.substr(good.find('.'))}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(VerifyVaultConfig(bad, TestKey()).ok());
    EXPECT_TRUE(HasCode(ReadVaultConfigKeyId(bad).status(), Errc::kNotAVault));
  }
}

TEST(VaultConfigTest, KeyIdMustNameAMasterkeyFile) {
  auto with_kid = [](json kid) {
    return MakeToken(WithMember(kPasswordHeader, "kid", std::move(kid)), kGoodPayload);
  };
  // Cryptomator Hub vaults get their key from a server: not ours to open.
  EXPECT_TRUE(
      HasCode(ReadVaultConfigKeyId(
                  with_kid("hub+https://hub.example.com/api/vaults/6b1e6ec5-8e0f-4a7a/keys"))
                  .status(),
              Errc::kUnsupported));
  EXPECT_TRUE(HasCode(ReadVaultConfigKeyId(with_kid("TEST_KEY")).status(), Errc::kUnsupported));
  // The desktop app matches the scheme case-insensitively (spec §4).
  auto upper = ReadVaultConfigKeyId(with_kid("MASTERKEYFILE:masterkey.cryptomator"));
  ASSERT_TRUE(upper.ok()) << upper.status().ToString();
  EXPECT_EQ(*upper, "MASTERKEYFILE:masterkey.cryptomator");
  // A kid that is missing or not a string is a broken file.
  json no_kid = kPasswordHeader;
  no_kid.erase("kid");
  EXPECT_TRUE(
      HasCode(ReadVaultConfigKeyId(MakeToken(no_kid, kGoodPayload)).status(), Errc::kNotAVault));
  EXPECT_TRUE(HasCode(ReadVaultConfigKeyId(with_kid(7)).status(), Errc::kNotAVault));
}

}  // namespace
}  // namespace vaultcore
