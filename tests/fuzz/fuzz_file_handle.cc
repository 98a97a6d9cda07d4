// Fuzzes the file-handle codec (server/file_handle.h), the first thing the
// server does with almost every call's arguments.
//
// Input, used twice:
//   1. as a handle as it comes off the wire: whatever decodes must
//      re-encode to exactly the same bytes (nothing a client can vary is
//      ignored by the MAC);
//   2. as the fields of a handle the server made: byte 0 picks the kind,
//      bytes 3-38 (zero-padded) the directory hash, inode and nonce prefix;
//      the handle must decode to those fields, and with the byte at
//      position byte 1 (mod 54) changed by byte 2 (0 taken as 1), or cut
//      or grown by one byte, it must not decode at all.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "server/file_handle.h"
#include "vaultcore/masterkey.h"

namespace {

#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (false)

const server::HandleCodec& Codec() {
  static const server::HandleCodec* codec = [] {
    std::array<uint8_t, vaultcore::MasterKey::kKeySize> enc{};
    std::array<uint8_t, vaultcore::MasterKey::kKeySize> mac{};
    for (size_t i = 0; i < enc.size(); ++i) {
      enc[i] = static_cast<uint8_t>(0x10 + i);
      mac[i] = static_cast<uint8_t>(0x80 + i);
    }
    const vaultcore::MasterKey key(enc, mac);
    return new server::HandleCodec(key);  // the codec keeps its own key copy
  }();
  return *codec;
}

void CheckWireHandle(std::span<const uint8_t> input) {
  const auto fields = Codec().Decode(input);
  if (!fields) return;
  CHECK(input.size() == server::FileHandle::kSize);
  const server::FileHandle again = Codec().Encode(*fields);
  CHECK(std::equal(again.bytes.begin(), again.bytes.end(), input.begin(), input.end()));
}

void CheckMadeHandle(std::span<const uint8_t> input) {
  std::array<uint8_t, 39> seed{};
  std::copy_n(input.begin(), std::min(input.size(), seed.size()), seed.begin());
  server::HandleFields fields;
  fields.kind = static_cast<server::HandleKind>(1 + seed[0] % 3);
  std::memcpy(fields.dir_hash.data(), &seed[3], fields.dir_hash.size());
  for (size_t i = 0; i < 8; ++i) fields.inode = fields.inode << 8 | seed[23 + i];
  std::memcpy(fields.nonce_prefix.data(), &seed[31], fields.nonce_prefix.size());

  const server::FileHandle handle = Codec().Encode(fields);
  const auto decoded = Codec().Decode(handle.span());
  CHECK(decoded.has_value());
  CHECK(*decoded == fields);

  server::FileHandle changed = handle;
  const size_t at = seed[1] % server::FileHandle::kSize;
  changed.bytes[at] ^= seed[2] == 0 ? 1 : seed[2];
  CHECK(!Codec().Decode(changed.span()).has_value());

  CHECK(!Codec().Decode(handle.span().first(server::FileHandle::kSize - 1)).has_value());
  std::vector<uint8_t> longer(handle.bytes.begin(), handle.bytes.end());
  longer.push_back(seed[2]);
  CHECK(!Codec().Decode(longer).has_value());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  CheckWireHandle(input);
  CheckMadeHandle(input);
  return 0;
}
