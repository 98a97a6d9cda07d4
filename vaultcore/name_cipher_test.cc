// Node names and content directory paths (spec §5, §6.2): file_names.json
// and dir_id_hash.json, the shortening rule, and the canonical-form check
// that keeps a node from having two names.
#include "vaultcore/name_cipher.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
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
using vaultnfs::testing::Hex;
using vaultnfs::testing::LoadVectors;

// Cryptomator's default, which every name vector assumes.
constexpr int kDefaultThreshold = 220;

MasterKey KeyOf(const json& v) {
  return MasterKey(Hex(Str(v, "primary_master_key")), Hex(Str(v, "hmac_master_key")));
}

std::vector<json> NameVectors() {
  return LoadVectors("file_names.json").at("vectors").get<std::vector<json>>();
}

void CheckName(const json& v) {
  const NameCipher names(KeyOf(v), kDefaultThreshold);
  const std::string ciphertext_name = Str(v, "ciphertext_name");
  const std::string parent = Str(v, "parent_dir_id");

  if (v.value("expect", "") == "authentication-failure") {
    EXPECT_TRUE(HasCode(names.DecryptName(ciphertext_name, parent).status(), Errc::kCorrupt));
    return;
  }

  // The UTF-8 bytes are authoritative; the JSON string must agree with them.
  const Bytes utf8 = Hex(Str(v, "cleartext_utf8"));
  const std::string cleartext(AsChars(utf8));
  EXPECT_EQ(cleartext, Str(v, "cleartext"));
  if (v.contains("cleartext_is_nfc")) {
    EXPECT_EQ(NormalizeNfc(cleartext) == cleartext, v.at("cleartext_is_nfc").get<bool>());
  }

  auto encrypted = names.EncryptName(cleartext, parent);
  ASSERT_TRUE(encrypted.ok()) << encrypted.status().ToString();
  EXPECT_EQ(*encrypted, ciphertext_name);
  if (v.contains("ciphertext_name_length")) {
    EXPECT_EQ(ciphertext_name.size(), v.at("ciphertext_name_length").get<size_t>());
  }

  auto decrypted = names.DecryptName(ciphertext_name, parent);
  ASSERT_TRUE(decrypted.ok()) << decrypted.status().ToString();
  EXPECT_EQ(*decrypted, cleartext);

  const bool shortened = v.at("shortened").get<bool>();
  EXPECT_EQ(names.NeedsShortening(ciphertext_name), shortened);
  if (shortened) {
    EXPECT_EQ(NameCipher::ShortenedName(ciphertext_name), Str(v, "c9s_name"));
    EXPECT_EQ(names.NodeName(ciphertext_name), Str(v, "c9s_name"));
    // name.c9s holds the full ciphertext name, ".c9r" included.
    EXPECT_EQ(Str(v, "name_c9s_content"), ciphertext_name);
  } else {
    EXPECT_EQ(names.NodeName(ciphertext_name), ciphertext_name);
  }
}

TEST(NameCipherTest, FileNameVectors) {
  const auto vectors = NameVectors();
  ASSERT_FALSE(vectors.empty());
  for (const auto& v : vectors) {
    SCOPED_TRACE(Str(v, "id"));
    CheckName(v);
  }
}

TEST(NameCipherTest, DirIdHashVectors) {
  const json vectors = LoadVectors("dir_id_hash.json").at("vectors");
  ASSERT_FALSE(vectors.empty());
  bool saw_root = false;
  bool saw_other = false;
  for (const auto& v : vectors) {
    SCOPED_TRACE(Str(v, "id"));
    const MasterKey key = KeyOf(v);
    const std::string dir_id = Str(v, "dir_id");
    (dir_id.empty() ? saw_root : saw_other) = true;

    auto path = NameCipher(key, kDefaultThreshold).ContentDirPath(dir_id);
    ASSERT_TRUE(path.ok()) << path.status().ToString();
    EXPECT_EQ(*path, Str(v, "path"));

    // The steps, for a precise failure: SIV with *no* AD (unlike names),
    // SHA-1, base32.
    auto sealed = AesSiv(key.SivKey().span()).Encrypt({}, AsBytes(dir_id));
    ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
    EXPECT_EQ(EncodeHex(*sealed), Str(v, "siv_output"));
    const Sha1Digest digest = Sha1(Hex(Str(v, "siv_output")));
    EXPECT_EQ(EncodeHex(digest), Str(v, "sha1"));
    EXPECT_EQ(EncodeBase32(digest), Str(v, "base32"));

    // The hash a file handle carries names the same place.
    auto hash = NameCipher(key, kDefaultThreshold).DirectoryHash(dir_id);
    ASSERT_TRUE(hash.ok()) << hash.status().ToString();
    EXPECT_EQ(EncodeHex(*hash), Str(v, "sha1"));
    EXPECT_EQ(NameCipher::ContentDirPathOfHash(*hash), Str(v, "path"));
  }
  EXPECT_TRUE(saw_root);
  EXPECT_TRUE(saw_other);
}

TEST(NameCipherTest, RootNamesUseOneEmptyAdElement) {
  // The root's id is "", however the caller spells the empty string.
  const auto vectors = NameVectors();
  for (const auto& v : vectors) {
    if (!v.contains("cleartext") || !Str(v, "parent_dir_id").empty()) continue;
    SCOPED_TRACE(Str(v, "id"));
    const NameCipher names(KeyOf(v), kDefaultThreshold);
    auto encrypted = names.EncryptName(Str(v, "cleartext"), std::string_view());
    ASSERT_TRUE(encrypted.ok()) << encrypted.status().ToString();
    EXPECT_EQ(*encrypted, Str(v, "ciphertext_name"));
    auto decrypted = names.DecryptName(Str(v, "ciphertext_name"), std::string_view());
    ASSERT_TRUE(decrypted.ok()) << decrypted.status().ToString();
    EXPECT_EQ(*decrypted, Str(v, "cleartext"));
  }
}

// The first vector whose ciphertext name satisfies `pred`.
json FirstNameWhere(const std::function<bool(const std::string&)>& pred) {
  for (const auto& v : NameVectors()) {
    if (v.contains("cleartext") && pred(Str(v, "ciphertext_name"))) return v;
  }
  ADD_FAILURE() << "no name vector fits";
  return json::object({{"ciphertext_name", ""}, {"parent_dir_id", ""}});
}

void ExpectRejected(const json& v, const std::string& name, const std::string& what) {
  if (!v.contains("primary_master_key")) return;  // already reported
  const NameCipher names(KeyOf(v), kDefaultThreshold);
  EXPECT_TRUE(HasCode(names.DecryptName(name, Str(v, "parent_dir_id")).status(), Errc::kCorrupt))
      << what << ": " << name;
}

TEST(NameCipherTest, RejectsNonCanonicalNames) {
  // Lookups compare strings, so a node must have exactly one valid name:
  // every other spelling of the same bytes is refused (spec §1, §5.5).
  const json padded = FirstNameWhere([](const std::string& n) { return n.ends_with("==.c9r"); });
  const std::string name = Str(padded, "ciphertext_name");
  const std::string body = name.substr(0, name.size() - 4);
  const std::string unpadded = body.substr(0, body.find('='));
  ExpectRejected(padded, unpadded + ".c9r", "padding missing");
  ExpectRejected(padded, unpadded + "=.c9r", "padding short");
  ExpectRejected(padded, body + "=.c9r", "padding too long");
  ExpectRejected(padded, body, "no .c9r suffix");
  ExpectRejected(padded, body + ".c9s", ".c9s suffix");
  ExpectRejected(padded, body + " (1).c9r", "sync conflict copy");
  ExpectRejected(padded, " " + name, "leading space");

  // With "==" the last data character carries 4 unused bits; setting one
  // gives a string that lenient decoders map to the same bytes.
  const std::string_view url_chars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string trailing_bit = name;
  const size_t last = unpadded.size() - 1;
  trailing_bit[last] = url_chars[url_chars.find(name[last]) | 1];
  ExpectRejected(padded, trailing_bit, "non-zero trailing bits");

  // Standard-alphabet spelling of a base64url name.
  const json url = FirstNameWhere(
      [](const std::string& n) { return n.find_first_of("-_") != std::string::npos; });
  std::string standard = Str(url, "ciphertext_name");
  for (char& c : standard) c = c == '-' ? '+' : c == '_' ? '/' : c;
  ExpectRejected(url, standard, "standard alphabet");
}

TEST(NameCipherTest, RejectsTamperedAndForeignNames) {
  const json v = FirstNameWhere([](const std::string& n) { return n.size() < 100; });
  const NameCipher names(KeyOf(v), kDefaultThreshold);
  const std::string name = Str(v, "ciphertext_name");
  const std::string parent = Str(v, "parent_dir_id");
  auto sealed =
      DecodeBase64(name.substr(0, name.size() - 4), Base64Alphabet::kUrl, Base64Padding::kPadded);
  ASSERT_TRUE(sealed);
  for (size_t i = 0; i < sealed->size(); ++i) {
    Bytes tampered = *sealed;
    tampered[i] ^= 0x20;
    const std::string tampered_name =
        EncodeBase64(tampered, Base64Alphabet::kUrl, Base64Padding::kPadded) + ".c9r";
    EXPECT_TRUE(HasCode(names.DecryptName(tampered_name, parent).status(), Errc::kCorrupt))
        << "byte " << i;
  }
  // Another vault's keys, and another directory.
  const NameCipher other(MasterKey(Bytes(32, 1), Bytes(32, 2)), kDefaultThreshold);
  EXPECT_TRUE(HasCode(other.DecryptName(name, parent).status(), Errc::kCorrupt));
  EXPECT_TRUE(HasCode(names.DecryptName(name, parent + "x").status(), Errc::kCorrupt));
  // Too short to hold a tag.
  EXPECT_TRUE(HasCode(names.DecryptName("AAAA.c9r", parent).status(), Errc::kCorrupt));
  EXPECT_TRUE(HasCode(names.DecryptName(".c9r", parent).status(), Errc::kCorrupt));
}

TEST(NameCipherTest, NameLengthAndShorteningBoundary) {
  // len = 4·⌈(16 + n)/3⌉ + 4 (spec §5.2); with threshold 220 names of
  // ≤ 146 bytes stay, ≥ 147 bytes are shortened (§5.4).
  const NameCipher names(MasterKey(Bytes(32, 0x55), Bytes(32, 0x77)), kDefaultThreshold);
  for (size_t n = 0; n <= 260; ++n) {
    SCOPED_TRACE(n);
    const std::string cleartext(n, 'n');
    auto encrypted = names.EncryptName(cleartext, "parent");
    ASSERT_TRUE(encrypted.ok()) << encrypted.status().ToString();
    EXPECT_EQ(encrypted->size(), 4 * ((16 + n + 2) / 3) + 4);
    EXPECT_EQ(names.NeedsShortening(*encrypted), n >= 147);
    auto decrypted = names.DecryptName(*encrypted, "parent");
    ASSERT_TRUE(decrypted.ok()) << decrypted.status().ToString();
    EXPECT_EQ(*decrypted, cleartext);
    const std::string node = names.NodeName(*encrypted);
    EXPECT_EQ(node.size(), n >= 147 ? 32u : encrypted->size());
  }
}

TEST(NameCipherTest, UsesTheVaultsThreshold) {
  // A vault created with threshold 40 (the small-threshold fixture) shortens
  // a 44-character name that the default leaves alone.
  const MasterKey key(Bytes(32, 0x55), Bytes(32, 0x77));
  const NameCipher small(key, 40);
  const NameCipher normal(key, kDefaultThreshold);
  EXPECT_EQ(small.shortening_threshold(), 40);
  const std::string forty(40, 'x');
  const std::string forty_four(44, 'x');
  EXPECT_FALSE(small.NeedsShortening(forty));
  EXPECT_TRUE(small.NeedsShortening(forty_four));
  EXPECT_FALSE(normal.NeedsShortening(forty_four));
  EXPECT_EQ(small.NodeName(forty_four), NameCipher::ShortenedName(forty_four));
}

TEST(NameCipherTest, ShortenedNameIsBase64UrlOfSha1) {
  for (const auto& v : NameVectors()) {
    if (!v.contains("c9s_name")) continue;
    SCOPED_TRACE(Str(v, "id"));
    const std::string name = Str(v, "ciphertext_name");
    EXPECT_EQ(
        NameCipher::ShortenedName(name),
        EncodeBase64(Sha1(AsBytes(name)), Base64Alphabet::kUrl, Base64Padding::kPadded) + ".c9s");
    EXPECT_EQ(Str(v, "c9s_name").size(), 32u);
  }
}

}  // namespace
}  // namespace vaultcore
