// masterkey.cryptomator (spec §3): unlocking the files in masterkey.json,
// wrong passwords, password normalisation, writing, and refusing malformed
// or hostile files before any expensive scrypt runs.
#include "vaultcore/masterkey.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <utility>
#include <vector>

#include "tests/testing.h"
#include "vaultcore/codec.h"
#include "vaultcore/crypto.h"
#include "vaultcore/unicode.h"

namespace vaultcore {
namespace {

using vaultnfs::testing::HasCode;
using vaultnfs::testing::Str;

using nlohmann::json;
using vaultnfs::testing::Base64;
using vaultnfs::testing::Hex;
using vaultnfs::testing::LoadVectors;

// Cheap scrypt parameters for files this test writes (the default N = 2^15
// costs ~0.15 s per unlock, much more under sanitizers).
constexpr ScryptParams kFastParams = {.n = 1024, .r = 8};

std::array<uint8_t, 4> Int32Be(uint32_t v) {
  return {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
          static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}

MasterKey TestKey() { return MasterKey(Bytes(32, 0x55), Bytes(32, 0x77)); }

void ExpectSameKeys(const MasterKey& actual, const MasterKey& expected) {
  EXPECT_EQ(EncodeHex(actual.enc_key()), EncodeHex(expected.enc_key()));
  EXPECT_EQ(EncodeHex(actual.mac_key()), EncodeHex(expected.mac_key()));
}

TEST(MasterKeyFileTest, UnlocksEveryVectorFile) {
  const json vectors = LoadVectors("masterkey.json").at("vectors");
  ASSERT_FALSE(vectors.empty());
  for (const auto& v : vectors) {
    SCOPED_TRACE(Str(v, "id"));
    auto key = UnlockMasterKeyFile(v.at("masterkey_file").dump(), Str(v, "password"));
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    EXPECT_EQ(EncodeHex(key->enc_key()), Str(v, "primary_master_key"));
    EXPECT_EQ(EncodeHex(key->mac_key()), Str(v, "hmac_master_key"));
    // raw() is K_enc ‖ K_mac, the key that signs vault.cryptomator.
    EXPECT_EQ(EncodeHex(key->raw()), Str(v, "primary_master_key") + Str(v, "hmac_master_key"));
  }
}

// The intermediate values of the vectors: KEK, deterministic re-wrap and
// versionMac, each computed with the primitives the unlock is built from.
TEST(MasterKeyFileTest, VectorIntermediates) {
  for (const auto& v : LoadVectors("masterkey.json").at("vectors").get<std::vector<json>>()) {
    SCOPED_TRACE(Str(v, "id"));
    const json& file = v.at("masterkey_file");
    Bytes salt = Base64(Str(file, "scryptSalt"));
    const Bytes pepper = Hex(v.value("pepper", ""));
    salt.insert(salt.end(), pepper.begin(), pepper.end());
    Bytes kek(32);
    Status s = Scrypt(AsBytes(NormalizeNfc(Str(v, "password"))), salt,
                      file.at("scryptCostParam").get<uint64_t>(),
                      file.at("scryptBlockSize").get<uint32_t>(), 1, kek);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(EncodeHex(kek), Str(v, "kek"));

    // Key wrap is deterministic: writing the same keys under the same KEK
    // must reproduce the file's fields exactly.
    for (const auto& [field, key] : {std::pair{"primaryMasterKey", "primary_master_key"},
                                     std::pair{"hmacMasterKey", "hmac_master_key"}}) {
      auto wrapped = AesKeyWrap(kek, Hex(Str(v, key)));
      ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
      EXPECT_EQ(EncodeBase64(*wrapped, Base64Alphabet::kStandard, Base64Padding::kPadded),
                Str(file, field));
    }

    auto version_mac =
        Hmac("SHA256", Hex(Str(v, "hmac_master_key")), Int32Be(file.at("version").get<uint32_t>()));
    ASSERT_TRUE(version_mac.ok()) << version_mac.status().ToString();
    EXPECT_EQ(EncodeBase64(*version_mac, Base64Alphabet::kStandard, Base64Padding::kPadded),
              Str(file, "versionMac"));
  }
}

TEST(MasterKeyFileTest, WrongPasswordsAreReportedAsSuch) {
  int checked = 0;
  for (const auto& v : LoadVectors("masterkey.json").at("vectors").get<std::vector<json>>()) {
    if (!v.contains("wrong_passwords")) continue;
    SCOPED_TRACE(Str(v, "id"));
    for (const auto& password : v.at("wrong_passwords")) {
      auto key = UnlockMasterKeyFile(v.at("masterkey_file").dump(), password.get<std::string>());
      ASSERT_FALSE(key.ok()) << "unlocked with \"" << password << "\"";
      EXPECT_TRUE(HasCode(key.status(), Errc::kWrongPassword));
      ++checked;
    }
  }
  EXPECT_GT(checked, 0);
}

TEST(MasterKeyFileTest, PasswordIsNormalisedToNfc) {
  // No vector has a non-ASCII password, so write files here: "Pässwörd"
  // composed (NFC), decomposed as macOS types it (NFD), and half of each.
  const std::string nfc = "P\xc3\xa4ssw\xc3\xb6rd";
  const std::string nfd = "Pa\xcc\x88sswo\xcc\x88rd";
  const std::string mixed = "P\xc3\xa4sswo\xcc\x88rd";
  ASSERT_EQ(NormalizeNfc(nfd), nfc);
  ASSERT_EQ(NormalizeNfc(mixed), nfc);
  const MasterKey key = TestKey();
  for (const auto& [written, typed] :
       {std::pair{nfc, nfd}, std::pair{nfd, nfc}, std::pair{mixed, nfd}}) {
    auto file = WrapMasterKeyFile(key, written, kFastParams);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    auto unlocked = UnlockMasterKeyFile(*file, typed);
    ASSERT_TRUE(unlocked.ok()) << unlocked.status().ToString();
    ExpectSameKeys(*unlocked, key);
  }
  // Normalisation is NFC only: no case folding.
  auto file = WrapMasterKeyFile(key, nfc, kFastParams);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_TRUE(
      HasCode(UnlockMasterKeyFile(*file, "p\xc3\xa4ssw\xc3\xb6rd").status(), Errc::kWrongPassword));
}

TEST(MasterKeyFileTest, WrapThenUnlockRoundTrips) {
  auto generated = MasterKey::Generate();
  ASSERT_TRUE(generated.ok()) << generated.status().ToString();
  const MasterKey& key = *generated;
  auto text = WrapMasterKeyFile(key, "correct horse", kFastParams);
  ASSERT_TRUE(text.ok()) << text.status().ToString();

  auto unlocked = UnlockMasterKeyFile(*text, "correct horse");
  ASSERT_TRUE(unlocked.ok()) << unlocked.status().ToString();
  ExpectSameKeys(*unlocked, key);
  EXPECT_TRUE(HasCode(UnlockMasterKeyFile(*text, "correct horse ").status(), Errc::kWrongPassword));

  // What Cryptomator expects to find in the file (spec §3.1, §3.3).
  const json doc = json::parse(*text);
  EXPECT_EQ(doc.at("version"), 999);
  EXPECT_EQ(doc.at("scryptCostParam"), kFastParams.n);
  EXPECT_EQ(doc.at("scryptBlockSize"), kFastParams.r);
  EXPECT_EQ(Base64(Str(doc, "scryptSalt")).size(), 8u);
  EXPECT_EQ(Base64(Str(doc, "primaryMasterKey")).size(), 40u);
  EXPECT_EQ(Base64(Str(doc, "hmacMasterKey")).size(), 40u);
  auto version_mac = Hmac("SHA256", key.mac_key(), Int32Be(999));
  ASSERT_TRUE(version_mac.ok());
  EXPECT_EQ(Base64(Str(doc, "versionMac")), *version_mac);

  // A fresh salt every time, so the same password never gives the same file.
  auto again = WrapMasterKeyFile(key, "correct horse", kFastParams);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_NE(Str(json::parse(*again), "scryptSalt"), Str(doc, "scryptSalt"));
}

TEST(MasterKeyFileTest, SivKeyIsMacKeyThenEncKey) {
  const MasterKey key = TestKey();
  EXPECT_EQ(EncodeHex(key.SivKey().span()), EncodeHex(key.mac_key()) + EncodeHex(key.enc_key()));
  EXPECT_EQ(EncodeHex(key.raw()), EncodeHex(key.enc_key()) + EncodeHex(key.mac_key()));
}

// A valid file with cheap parameters (N = 2) to mutate.
json CheapVectorFile() {
  for (const auto& v : LoadVectors("masterkey.json").at("vectors").get<std::vector<json>>()) {
    if (v.at("masterkey_file").at("scryptCostParam").get<uint64_t>() <= 1024) {
      return v.at("masterkey_file");
    }
  }
  ADD_FAILURE() << "no masterkey vector with cheap scrypt parameters";
  return json::object();
}

void ExpectNotAVault(const std::string& text, const std::string& what) {
  auto key = UnlockMasterKeyFile(text, "asd");
  ASSERT_FALSE(key.ok()) << what << ": accepted";
  EXPECT_TRUE(HasCode(key.status(), Errc::kNotAVault)) << what;
}

TEST(MasterKeyFileTest, RejectsMalformedJson) {
  ExpectNotAVault("", "empty file");
  ExpectNotAVault("{", "truncated JSON");
  ExpectNotAVault("[]", "an array");
  ExpectNotAVault("\"masterkey\"", "a string");
  ExpectNotAVault("{}", "an empty object");
  ExpectNotAVault(std::string("\x00\x01\x02", 3), "binary");
  std::string truncated = CheapVectorFile().dump();
  truncated.resize(truncated.size() / 2);
  ExpectNotAVault(truncated, "half a file");
}

TEST(MasterKeyFileTest, RejectsMissingFields) {
  const json base = CheapVectorFile();
  ASSERT_TRUE(UnlockMasterKeyFile(base.dump(), "asd").ok());
  // Cryptomator refuses a file in which any field is missing (spec §3.1).
  for (const char* field : {"version", "scryptSalt", "scryptCostParam", "scryptBlockSize",
                            "primaryMasterKey", "hmacMasterKey", "versionMac"}) {
    json file = base;
    file.erase(field);
    ExpectNotAVault(file.dump(), std::string("without ") + field);
  }
}

TEST(MasterKeyFileTest, RejectsFieldsOfTheWrongTypeOrEncoding) {
  const json base = CheapVectorFile();
  auto with = [&](const char* field, json value) {
    json file = base;
    file[field] = std::move(value);
    return file.dump();
  };
  ExpectNotAVault(with("version", "999"), "version as a string");
  ExpectNotAVault(with("version", 0), "version 0");
  ExpectNotAVault(with("scryptCostParam", "2"), "N as a string");
  ExpectNotAVault(with("scryptCostParam", 2.5), "N as a fraction");
  ExpectNotAVault(with("scryptBlockSize", json::array()), "r as an array");
  ExpectNotAVault(with("scryptSalt", ""), "empty salt");
  ExpectNotAVault(with("primaryMasterKey", "not base64!"), "primaryMasterKey not base64");
  ExpectNotAVault(with("hmacMasterKey", 42), "hmacMasterKey as a number");
}

TEST(MasterKeyFileTest, RejectsAbsurdScryptParametersBeforeRunningScrypt) {
  const json base = CheapVectorFile();
  auto with_params = [&](json n, json r) {
    json file = base;
    file["scryptCostParam"] = std::move(n);
    file["scryptBlockSize"] = std::move(r);
    return file.dump();
  };
  // Each of these would either fail in scrypt or exhaust memory; none may
  // get that far (a hostile file must not cost more than a lookup).
  ExpectNotAVault(with_params(1, 8), "N = 1");
  ExpectNotAVault(with_params(0, 8), "N = 0");
  ExpectNotAVault(with_params(-32768, 8), "negative N");
  ExpectNotAVault(with_params(32767, 8), "N not a power of two");
  ExpectNotAVault(with_params(uint64_t{1} << 31, 8), "N = 2^31 (2 TiB)");
  ExpectNotAVault(with_params(uint64_t{1} << 61, 8), "N = 2^61 (128*r*N overflows 64 bits)");
  ExpectNotAVault(with_params(uint64_t{1} << 62, 8), "N = 2^62");
  ExpectNotAVault(with_params(uint64_t{1} << 63, 8), "N = 2^63");
  ExpectNotAVault(with_params(32768, 0), "r = 0");
  ExpectNotAVault(with_params(32768, -8), "negative r");
  ExpectNotAVault(with_params(32768, uint64_t{1} << 40), "r = 2^40");
  ExpectNotAVault(with_params(2, (uint64_t{1} << 32) + 8), "r = 2^32 + 8");
}

}  // namespace
}  // namespace vaultcore
