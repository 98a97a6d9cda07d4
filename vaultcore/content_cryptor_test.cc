// File content (spec §7 SIV_GCM, §12 SIV_CTRMAC): file_header.json,
// file_content.json and sizes.json, plus tampering of every byte.
#include "vaultcore/content_cryptor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/testing.h"
#include "vaultcore/codec.h"

namespace vaultcore {
namespace {

using vaultnfs::testing::HasCode;
using vaultnfs::testing::Str;

using nlohmann::json;
using vaultnfs::testing::Base64;
using vaultnfs::testing::Hex;
using vaultnfs::testing::LoadVectors;

CipherCombo ComboOf(const json& v) {
  const std::string scheme = Str(v, "scheme");
  EXPECT_TRUE(scheme == "SIV_GCM" || scheme == "SIV_CTRMAC") << scheme;
  return scheme == "SIV_CTRMAC" ? CipherCombo::kSivCtrMac : CipherCombo::kSivGcm;
}

// The bytes of `<field>_hex` or `<field>_b64`. Some tampered upstream
// vectors were made by editing one base64 character, which left non-zero
// bits in the unused tail (Java's decoder ignores them; our strict one, as
// used by testing::Base64, refuses them). Clear those bits first: the
// decoded bytes are what the vector means either way.
Bytes VectorBytes(const json& v, const std::string& field) {
  if (v.contains(field + "_hex")) return Hex(v.at(field + "_hex").get<std::string>());
  std::string text = v.at(field + "_b64").get<std::string>();
  const size_t padding = text.size() - text.find_last_not_of('=') - 1;
  if (padding > 0 && padding < text.size()) {
    constexpr std::string_view kChars =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char& last = text[text.size() - padding - 1];
    const size_t unused_bits = padding == 1 ? 0x03 : 0x0f;
    last = kChars[kChars.find(last) & ~unused_bits];
  }
  return Base64(text);
}

// Chunk vectors give the content key and header nonce directly; the master
// keys matter only for the CTRMAC chunk MAC (K_mac).
MasterKey ChunkVectorKey(const json& v) {
  return MasterKey(Bytes(32, 0x00), v.contains("hmac_master_key") ? Hex(Str(v, "hmac_master_key"))
                                                                  : Bytes(32, 0x00));
}

FileHeader ChunkVectorHeader(const json& v) {
  FileHeader header;
  const Bytes nonce = Hex(Str(v, "header_nonce"));
  const Bytes key = Hex(Str(v, "content_key"));
  EXPECT_LE(nonce.size(), header.nonce.size());
  EXPECT_EQ(key.size(), header.content_key.size());
  std::copy_n(nonce.begin(), std::min(nonce.size(), header.nonce.size()), header.nonce.begin());
  std::copy_n(key.begin(), std::min(key.size(), header.content_key.size()),
              header.content_key.begin());
  return header;
}

// Decrypts a whole file as a reader would: header, then every chunk at its
// position. An empty final chunk is legal in a stream (dirid.c9r).
Result<Bytes> DecryptFile(const ContentCryptor& cryptor, std::span<const uint8_t> file) {
  auto header = cryptor.DecryptHeader(file.first(std::min(file.size(), cryptor.header_size())));
  if (!header.ok()) return header.status();
  Bytes cleartext;
  size_t pos = cryptor.header_size();
  for (uint64_t index = 0; pos < file.size(); ++index) {
    const size_t size = std::min(cryptor.ciphertext_chunk_size(), file.size() - pos);
    if (size < cryptor.chunk_overhead()) return Status(Errc::kCorrupt, "truncated chunk");
    Bytes chunk(size - cryptor.chunk_overhead());
    Status s = cryptor.DecryptChunk(*header, index, file.subspan(pos, size), chunk);
    if (!s.ok()) return s;
    cleartext.insert(cleartext.end(), chunk.begin(), chunk.end());
    pos += size;
  }
  return cleartext;
}

// Re-encrypts a decrypted file with its own header and chunk nonces, which
// must reproduce it byte for byte (all the randomness is in the nonces).
Bytes ReencryptFile(const ContentCryptor& cryptor, std::span<const uint8_t> original,
                    std::span<const uint8_t> cleartext) {
  auto header = cryptor.DecryptHeader(original.first(cryptor.header_size()));
  EXPECT_TRUE(header.ok()) << header.status().ToString();
  if (!header.ok()) return {};
  Bytes out(cryptor.header_size());
  EXPECT_TRUE(cryptor.EncryptHeader(*header, out).ok());
  size_t pos = 0;
  for (uint64_t index = 0; pos < cleartext.size(); ++index) {
    const auto chunk =
        cleartext.subspan(pos, std::min<size_t>(kCleartextChunkSize, cleartext.size() - pos));
    const size_t at = out.size();
    out.resize(at + chunk.size() + cryptor.chunk_overhead());
    const auto nonce = original.subspan(at, cryptor.nonce_size());
    Status s = cryptor.EncryptChunk(*header, index, chunk, std::span(out).subspan(at), nonce);
    EXPECT_TRUE(s.ok()) << s.ToString();
    pos += chunk.size();
  }
  return out;
}

void CheckHeader(const json& v) {
  const MasterKey key(Hex(Str(v, "primary_master_key")), Hex(Str(v, "hmac_master_key")));
  const auto cryptor = MakeContentCryptor(ComboOf(v), key);
  const Bytes bytes = VectorBytes(v, "header");
  EXPECT_EQ(bytes.size(), cryptor->header_size());

  auto header = cryptor->DecryptHeader(bytes);
  if (Str(v, "expect") == "authentication-failure") {
    EXPECT_TRUE(HasCode(header.status(), Errc::kCorrupt));
    return;
  }
  ASSERT_EQ(Str(v, "expect"), "valid");
  ASSERT_TRUE(header.ok()) << header.status().ToString();
  EXPECT_EQ(EncodeHex(std::span(header->nonce).first(cryptor->nonce_size())), Str(v, "nonce"));
  EXPECT_EQ(EncodeHex(header->content_key), Str(v, "content_key"));
  EXPECT_EQ(EncodeHex(header->reserved), Str(v, "reserved"));

  // Same nonce, key and reserved bytes give the same header.
  Bytes again(cryptor->header_size());
  Status s = cryptor->EncryptHeader(*header, again);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(EncodeHex(again), EncodeHex(bytes));

  // Every byte is covered by the tag or MAC, the nonce included.
  for (size_t i = 0; i < bytes.size(); ++i) {
    Bytes tampered = bytes;
    tampered[i] ^= 0x01;
    EXPECT_TRUE(HasCode(cryptor->DecryptHeader(tampered).status(), Errc::kCorrupt)) << "byte " << i;
  }
  EXPECT_TRUE(HasCode(cryptor->DecryptHeader(std::span(bytes).first(bytes.size() - 1)).status(),
                      Errc::kCorrupt));
  EXPECT_TRUE(HasCode(cryptor->DecryptHeader({}).status(), Errc::kCorrupt));
}

TEST(FileHeaderTest, KnownAnswers) {
  const json vectors = LoadVectors("file_header.json").at("vectors");
  ASSERT_FALSE(vectors.empty());
  for (const auto& v : vectors) {
    SCOPED_TRACE(Str(v, "id"));
    CheckHeader(v);
  }
}

TEST(FileHeaderTest, NewHeadersAreRandomAndRoundTrip) {
  const MasterKey key(Bytes(32, 0x55), Bytes(32, 0x77));
  for (auto combo : {CipherCombo::kSivGcm, CipherCombo::kSivCtrMac}) {
    SCOPED_TRACE(std::string(CipherComboName(combo)));
    const auto cryptor = MakeContentCryptor(combo, key);
    EXPECT_EQ(cryptor->combo(), combo);
    auto a = cryptor->NewHeader();
    auto b = cryptor->NewHeader();
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_NE(a->nonce, b->nonce);
    EXPECT_NE(a->content_key, b->content_key);
    EXPECT_EQ(EncodeHex(a->reserved), "ffffffffffffffff");  // what writers put there

    Bytes bytes(cryptor->header_size());
    ASSERT_TRUE(cryptor->EncryptHeader(*a, bytes).ok());
    auto back = cryptor->DecryptHeader(bytes);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->nonce, a->nonce);
    EXPECT_EQ(back->content_key, a->content_key);
    EXPECT_EQ(back->reserved, a->reserved);
  }
}

TEST(ContentCryptorTest, SizesOfEachCombo) {
  const MasterKey key(Bytes(32, 0x55), Bytes(32, 0x77));
  const auto gcm = MakeContentCryptor(CipherCombo::kSivGcm, key);
  EXPECT_EQ(gcm->header_size(), 68u);
  EXPECT_EQ(gcm->nonce_size(), 12u);
  EXPECT_EQ(gcm->chunk_overhead(), 28u);
  EXPECT_EQ(gcm->ciphertext_chunk_size(), 32796u);
  const auto ctrmac = MakeContentCryptor(CipherCombo::kSivCtrMac, key);
  EXPECT_EQ(ctrmac->header_size(), 88u);
  EXPECT_EQ(ctrmac->nonce_size(), 16u);
  EXPECT_EQ(ctrmac->chunk_overhead(), 48u);
  EXPECT_EQ(ctrmac->ciphertext_chunk_size(), 32816u);
}

void CheckChunk(const json& v) {
  const MasterKey key = ChunkVectorKey(v);
  const auto cryptor = MakeContentCryptor(ComboOf(v), key);
  const FileHeader header = ChunkVectorHeader(v);
  const uint64_t index = v.at("chunk_number").get<uint64_t>();
  const Bytes chunk = VectorBytes(v, "chunk");
  ASSERT_GE(chunk.size(), cryptor->chunk_overhead());
  Bytes cleartext(chunk.size() - cryptor->chunk_overhead());

  Status s = cryptor->DecryptChunk(header, index, chunk, cleartext);
  if (Str(v, "expect") == "authentication-failure") {
    EXPECT_TRUE(HasCode(s, Errc::kCorrupt));
    return;
  }
  ASSERT_EQ(Str(v, "expect"), "valid");
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(EncodeHex(cleartext), Str(v, "cleartext"));

  // The chunk nonce is in the vector (its first bytes), so encrypting with
  // it must reproduce the chunk.
  Bytes again(chunk.size());
  s = cryptor->EncryptChunk(header, index, cleartext, again,
                            std::span(chunk).first(cryptor->nonce_size()));
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(EncodeHex(again), EncodeHex(chunk));

  // Every byte is authenticated, and so are the position and the file.
  for (size_t i = 0; i < chunk.size(); ++i) {
    Bytes tampered = chunk;
    tampered[i] ^= 0x01;
    EXPECT_TRUE(HasCode(cryptor->DecryptChunk(header, index, tampered, cleartext), Errc::kCorrupt))
        << "byte " << i;
  }
  EXPECT_TRUE(HasCode(cryptor->DecryptChunk(header, index + 1, chunk, cleartext), Errc::kCorrupt));
  FileHeader other_file = header;
  other_file.nonce[0] ^= 0x01;
  EXPECT_TRUE(HasCode(cryptor->DecryptChunk(other_file, index, chunk, cleartext), Errc::kCorrupt));
  EXPECT_TRUE(
      HasCode(cryptor->DecryptChunk(
                  header, index, std::span(chunk).first(cryptor->chunk_overhead() - 1), cleartext),
              Errc::kCorrupt));
}

void CheckFile(const json& v) {
  const MasterKey key(Hex(Str(v, "primary_master_key")), Hex(Str(v, "hmac_master_key")));
  const auto cryptor = MakeContentCryptor(ComboOf(v), key);
  const Bytes file = VectorBytes(v, "file");

  auto cleartext = DecryptFile(*cryptor, file);
  if (Str(v, "expect") == "authentication-failure") {
    EXPECT_TRUE(HasCode(cleartext.status(), Errc::kCorrupt));
    return;
  }
  ASSERT_EQ(Str(v, "expect"), "valid");
  ASSERT_TRUE(cleartext.ok()) << cleartext.status().ToString();
  EXPECT_EQ(EncodeHex(*cleartext), Str(v, "cleartext"));
  if (v.contains("reserved")) {
    // Legacy values in the reserved field are read, not rejected (§7.1).
    auto header = cryptor->DecryptHeader(std::span(file).first(cryptor->header_size()));
    ASSERT_TRUE(header.ok()) << header.status().ToString();
    EXPECT_EQ(EncodeHex(header->reserved), Str(v, "reserved"));
  }

  // The size arithmetic agrees with real files.
  EXPECT_EQ(cryptor->CiphertextSize(cleartext->size()), file.size());
  EXPECT_EQ(cryptor->CleartextSize(file.size()), cleartext->size());

  EXPECT_EQ(EncodeHex(ReencryptFile(*cryptor, file, *cleartext)), EncodeHex(file));
}

TEST(FileContentTest, KnownAnswers) {
  const json vectors = LoadVectors("file_content.json").at("vectors");
  ASSERT_FALSE(vectors.empty());
  for (const auto& v : vectors) {
    SCOPED_TRACE(Str(v, "id"));
    if (v.contains("chunk_b64") || v.contains("chunk_hex")) {
      CheckChunk(v);
    } else if (v.contains("file_b64") || v.contains("file_hex")) {
      CheckFile(v);
    } else {
      ADD_FAILURE() << "vector of unknown shape";
    }
  }
}

TEST(FileContentTest, ChunksAreBoundToTheirPositionInTheFile) {
  // Two full chunks swapped, and a file cut at a chunk boundary.
  const MasterKey key(Bytes(32, 0x55), Bytes(32, 0x77));
  for (auto combo : {CipherCombo::kSivGcm, CipherCombo::kSivCtrMac}) {
    SCOPED_TRACE(std::string(CipherComboName(combo)));
    const auto cryptor = MakeContentCryptor(combo, key);
    auto header = cryptor->NewHeader();
    ASSERT_TRUE(header.ok());
    Bytes cleartext(2 * kCleartextChunkSize + 5);
    for (size_t i = 0; i < cleartext.size(); ++i) cleartext[i] = static_cast<uint8_t>(i % 251);

    Bytes file(cryptor->header_size());
    ASSERT_TRUE(cryptor->EncryptHeader(*header, file).ok());
    for (uint64_t index = 0; index * kCleartextChunkSize < cleartext.size(); ++index) {
      const auto chunk = std::span(cleartext).subspan(
          index * kCleartextChunkSize,
          std::min<size_t>(kCleartextChunkSize, cleartext.size() - index * kCleartextChunkSize));
      const size_t at = file.size();
      file.resize(at + chunk.size() + cryptor->chunk_overhead());
      ASSERT_TRUE(cryptor->EncryptChunk(*header, index, chunk, std::span(file).subspan(at)).ok());
    }
    ASSERT_EQ(file.size(), cryptor->CiphertextSize(cleartext.size()));
    auto decrypted = DecryptFile(*cryptor, file);
    ASSERT_TRUE(decrypted.ok()) << decrypted.status().ToString();
    EXPECT_EQ(*decrypted, cleartext);

    Bytes swapped = file;
    const size_t first = cryptor->header_size();
    const size_t second = first + cryptor->ciphertext_chunk_size();
    std::swap_ranges(swapped.begin() + first, swapped.begin() + second, swapped.begin() + second);
    EXPECT_TRUE(HasCode(DecryptFile(*cryptor, swapped).status(), Errc::kCorrupt));
  }
}

TEST(FileContentTest, EmptyChunkIsLegalInAStream) {
  // dirid.c9r from cryptolib >= 2.2.1 ends with an empty chunk (§6.3).
  const MasterKey key(Bytes(32, 0x55), Bytes(32, 0x77));
  for (auto combo : {CipherCombo::kSivGcm, CipherCombo::kSivCtrMac}) {
    SCOPED_TRACE(std::string(CipherComboName(combo)));
    const auto cryptor = MakeContentCryptor(combo, key);
    auto header = cryptor->NewHeader();
    ASSERT_TRUE(header.ok());
    Bytes chunk(cryptor->chunk_overhead());
    Status s = cryptor->EncryptChunk(*header, 0, {}, chunk);
    ASSERT_TRUE(s.ok()) << s.ToString();
    s = cryptor->DecryptChunk(*header, 0, chunk, {});
    EXPECT_TRUE(s.ok()) << s.ToString();
    chunk.back() ^= 0x01;
    EXPECT_TRUE(HasCode(cryptor->DecryptChunk(*header, 0, chunk, {}), Errc::kCorrupt));
  }
}

TEST(SizesTest, KnownAnswers) {
  const json sizes = LoadVectors("sizes.json");
  const MasterKey key(Bytes(32, 0x55), Bytes(32, 0x77));
  const auto gcm = MakeContentCryptor(CipherCombo::kSivGcm, key);
  const auto ctrmac = MakeContentCryptor(CipherCombo::kSivCtrMac, key);
  ASSERT_FALSE(sizes.at("valid").empty());
  for (const auto& v : sizes.at("valid")) {
    const auto cleartext = v.at("cleartext_size").get<uint64_t>();
    SCOPED_TRACE(cleartext);
    const auto gcm_file = v.at("gcm_file_size").get<uint64_t>();
    const auto ctrmac_file = v.at("ctrmac_file_size").get<uint64_t>();
    EXPECT_EQ(v.at("gcm_payload_size").get<uint64_t>() + gcm->header_size(), gcm_file);
    EXPECT_EQ(gcm->CiphertextSize(cleartext), gcm_file);
    EXPECT_EQ(gcm->CleartextSize(gcm_file), cleartext);
    EXPECT_EQ(ctrmac->CiphertextSize(cleartext), ctrmac_file);
    EXPECT_EQ(ctrmac->CleartextSize(ctrmac_file), cleartext);
  }
  ASSERT_FALSE(sizes.at("invalid_payload_sizes").empty());
  for (const auto& v : sizes.at("invalid_payload_sizes")) {
    const auto payload = v.at("gcm_payload_size").get<uint64_t>();
    SCOPED_TRACE(Str(v, "reason") + ", payload " + std::to_string(payload));
    EXPECT_EQ(gcm->CleartextSize(payload + gcm->header_size()), std::nullopt);
  }
}

TEST(SizesTest, EdgesOfTheHeaderAndTheLastChunk) {
  const MasterKey key(Bytes(32, 0x55), Bytes(32, 0x77));
  for (auto combo : {CipherCombo::kSivGcm, CipherCombo::kSivCtrMac}) {
    SCOPED_TRACE(std::string(CipherComboName(combo)));
    const auto cryptor = MakeContentCryptor(combo, key);
    const uint64_t header = cryptor->header_size();
    const uint64_t overhead = cryptor->chunk_overhead();
    const uint64_t chunk = cryptor->ciphertext_chunk_size();
    // A 0-byte file is an empty file whose header was never written (§7.5).
    EXPECT_EQ(cryptor->CleartextSize(0), 0u);
    EXPECT_EQ(cryptor->CleartextSize(1), std::nullopt);
    EXPECT_EQ(cryptor->CleartextSize(header - 1), std::nullopt);
    EXPECT_EQ(cryptor->CleartextSize(header), 0u);
    // A last chunk needs room for its overhead and at least one byte.
    EXPECT_EQ(cryptor->CleartextSize(header + 1), std::nullopt);
    EXPECT_EQ(cryptor->CleartextSize(header + overhead), std::nullopt);
    EXPECT_EQ(cryptor->CleartextSize(header + overhead + 1), 1u);
    EXPECT_EQ(cryptor->CleartextSize(header + chunk + overhead), std::nullopt);
    EXPECT_EQ(cryptor->CleartextSize(header + chunk + overhead + 1), kCleartextChunkSize + 1);
    // Sizes in every position of a chunk round-trip.
    for (uint64_t n : {uint64_t{0}, uint64_t{1}, kCleartextChunkSize - 1, kCleartextChunkSize,
                       kCleartextChunkSize + 1, uint64_t{1} << 40}) {
      EXPECT_EQ(cryptor->CleartextSize(cryptor->CiphertextSize(n)), n) << n;
    }
  }
}

}  // namespace
}  // namespace vaultcore
