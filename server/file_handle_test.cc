#include "server/file_handle.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

#include "tests/testing.h"
#include "vaultcore/crypto.h"
#include "vaultcore/masterkey.h"

namespace server {
namespace {

using vaultnfs::testing::Hex;

// The key of tests/fuzz/corpus/fuzz_file_handle too: enc 10 11 … 2f,
// mac 80 81 … 9f.
vaultcore::MasterKey TestKey(uint8_t enc_start = 0x10, uint8_t mac_start = 0x80) {
  std::array<uint8_t, vaultcore::MasterKey::kKeySize> enc{};
  std::array<uint8_t, vaultcore::MasterKey::kKeySize> mac{};
  for (size_t i = 0; i < enc.size(); ++i) {
    enc[i] = static_cast<uint8_t>(enc_start + i);
    mac[i] = static_cast<uint8_t>(mac_start + i);
  }
  return vaultcore::MasterKey(enc, mac);
}

HandleFields Fields(HandleKind kind) {
  HandleFields fields;
  fields.kind = kind;
  for (size_t i = 0; i < fields.dir_hash.size(); ++i)
    fields.dir_hash[i] = static_cast<uint8_t>(20 + i);
  fields.inode = 0x0102030405060708;
  for (size_t i = 0; i < fields.nonce_prefix.size(); ++i) {
    fields.nonce_prefix[i] = static_cast<uint8_t>(0xa0 + i);
  }
  return fields;
}

// A handle whose MAC is right for whatever body it has, made the way the
// codec makes its MACs (HMAC-SHA256 under a key derived from K_mac).
std::vector<uint8_t> WithValidMac(const vaultcore::MasterKey& key, std::vector<uint8_t> body) {
  constexpr std::string_view kLabel = "vaultnfs file handle v1";
  auto derived =
      vaultcore::Hmac("SHA256", key.mac_key(),
                      std::span(reinterpret_cast<const uint8_t*>(kLabel.data()), kLabel.size()));
  EXPECT_TRUE(derived.ok());
  auto mac = vaultcore::Hmac("SHA256", *derived, body);
  EXPECT_TRUE(mac.ok());
  body.insert(body.end(), mac->begin(), mac->begin() + 16);
  return body;
}

class FileHandleTest : public ::testing::Test {
 protected:
  const vaultcore::MasterKey key_ = TestKey();
  const HandleCodec codec_{key_};
};

TEST_F(FileHandleTest, RoundTripsEveryKind) {
  for (HandleKind kind : {HandleKind::kDirectory, HandleKind::kFile, HandleKind::kSymlink}) {
    const HandleFields fields = Fields(kind);
    const FileHandle handle = codec_.Encode(fields);
    EXPECT_EQ(handle.span().size(), FileHandle::kSize);
    EXPECT_LE(FileHandle::kSize, 64u) << "NFS3_FHSIZE";
    const auto decoded = codec_.Decode(handle.span());
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(*decoded, fields);
  }
  // Extreme field values too.
  HandleFields zero;
  EXPECT_EQ(codec_.Decode(codec_.Encode(zero).span()), zero);
  HandleFields ones;
  ones.kind = HandleKind::kSymlink;
  ones.dir_hash.fill(0xff);
  ones.inode = UINT64_MAX;
  ones.nonce_prefix.fill(0xff);
  EXPECT_EQ(codec_.Decode(codec_.Encode(ones).span()), ones);
}

// The server reads the hint and the nonce prefix of the handles it keeps
// straight from their bytes.
TEST_F(FileHandleTest, TheKeptFieldsAreReadFromTheBytes) {
  const HandleFields fields = Fields(HandleKind::kFile);
  const FileHandle handle = codec_.Encode(fields);
  EXPECT_TRUE(std::ranges::equal(handle.dir_hash(), fields.dir_hash));
  EXPECT_TRUE(std::ranges::equal(handle.nonce_prefix(), fields.nonce_prefix));
}

// Handles must outlive the process (and the build): the format and the key
// derivation are pinned by a value computed independently (Python hmac).
TEST_F(FileHandleTest, KnownAnswer) {
  const FileHandle handle = codec_.Encode(Fields(HandleKind::kFile));
  EXPECT_EQ(std::vector<uint8_t>(handle.bytes.begin(), handle.bytes.end()),
            Hex("0102"                                      // version, kind
                "1415161718191a1b1c1d1e1f2021222324252627"  // directory hash
                "0102030405060708"                          // inode
                "a0a1a2a3a4a5a6a7"                          // nonce prefix
                "2d31bf780e62483bdc83e2ef783a8e6d"));       // MAC
  // The same fields always give the same handle.
  EXPECT_EQ(codec_.Encode(Fields(HandleKind::kFile)).bytes, handle.bytes);
}

TEST_F(FileHandleTest, AnyChangedByteIsRejected) {
  const FileHandle handle = codec_.Encode(Fields(HandleKind::kFile));
  for (size_t i = 0; i < FileHandle::kSize; ++i) {
    for (uint8_t delta : {0x01, 0x80, 0xff}) {
      FileHandle changed = handle;
      changed.bytes[i] ^= delta;
      EXPECT_FALSE(codec_.Decode(changed.span()).has_value()) << "byte " << i << " ^ " << +delta;
    }
  }
}

TEST_F(FileHandleTest, WrongLengthIsRejected) {
  const FileHandle handle = codec_.Encode(Fields(HandleKind::kDirectory));
  std::vector<uint8_t> bytes(handle.bytes.begin(), handle.bytes.end());
  EXPECT_FALSE(codec_.Decode({}).has_value());
  EXPECT_FALSE(codec_.Decode(std::span(bytes).first(FileHandle::kSize - 1)).has_value());
  EXPECT_FALSE(codec_.Decode(std::span(bytes).first(1)).has_value());
  bytes.push_back(0);
  EXPECT_FALSE(codec_.Decode(bytes).has_value());
  bytes.resize(64, 0);
  EXPECT_FALSE(codec_.Decode(bytes).has_value());
}

TEST_F(FileHandleTest, WrongVersionOrKindIsRejectedEvenWithAValidMac) {
  const FileHandle handle = codec_.Encode(Fields(HandleKind::kFile));
  const std::vector<uint8_t> body(handle.bytes.begin(), handle.bytes.begin() + 38);
  // The helper makes what the codec makes.
  EXPECT_EQ(WithValidMac(key_, body),
            std::vector<uint8_t>(handle.bytes.begin(), handle.bytes.end()));
  for (uint8_t version : {0, 2, 0xff}) {
    std::vector<uint8_t> other = body;
    other[0] = version;
    EXPECT_FALSE(codec_.Decode(WithValidMac(key_, other)).has_value()) << "version " << +version;
  }
  for (uint8_t kind : {0, 4, 0xff}) {
    std::vector<uint8_t> other = body;
    other[1] = kind;
    EXPECT_FALSE(codec_.Decode(WithValidMac(key_, other)).has_value()) << "kind " << +kind;
  }
}

TEST_F(FileHandleTest, AnotherKeyRejects) {
  const HandleCodec other(TestKey(0x10, 0x81));  // only K_mac differs
  const HandleFields fields = Fields(HandleKind::kDirectory);
  EXPECT_FALSE(other.Decode(codec_.Encode(fields).span()).has_value());
  EXPECT_FALSE(codec_.Decode(other.Encode(fields).span()).has_value());
  EXPECT_NE(other.Encode(fields).bytes, codec_.Encode(fields).bytes);
  // K_enc plays no part: a vault keeps its handles whatever it encrypts with.
  const HandleCodec same_mac(TestKey(0x55, 0x80));
  EXPECT_EQ(same_mac.Encode(fields).bytes, codec_.Encode(fields).bytes);
}

TEST_F(FileHandleTest, CodecOutlivesTheKey) {
  std::optional<HandleCodec> codec;
  {
    const vaultcore::MasterKey key = TestKey();
    codec.emplace(key);
  }
  const HandleFields fields = Fields(HandleKind::kSymlink);
  EXPECT_EQ(codec->Encode(fields).bytes, codec_.Encode(fields).bytes);
  EXPECT_EQ(codec->Decode(codec_.Encode(fields).span()), fields);
}

}  // namespace
}  // namespace server
