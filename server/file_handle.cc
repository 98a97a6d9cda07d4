#include "server/file_handle.h"

#include <openssl/crypto.h>

#include <cstdlib>
#include <cstring>

#include "vaultcore/codec.h"

namespace server {
namespace {

constexpr uint8_t kVersion = 1;
constexpr size_t kBodySize = 38;
constexpr size_t kMacSize = FileHandle::kSize - kBodySize;
// Domain separation: the handle key is never the vault's MAC key itself.
constexpr std::string_view kKeyLabel = "vaultnfs file handle v1";

void PutU64(uint8_t* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

uint64_t GetU64(const uint8_t* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | in[i];
  return v;
}

vaultcore::SecureBytes DeriveKey(const vaultcore::MasterKey& key) {
  auto derived = vaultcore::Hmac("SHA256", key.mac_key(), vaultcore::AsBytes(kKeyLabel));
  // HMAC-SHA256 with a 32-byte key cannot fail short of memory exhaustion,
  // and a server that cannot authenticate handles must not start.
  if (!derived.ok()) std::abort();
  vaultcore::SecureBytes out(*derived);
  OPENSSL_cleanse(derived->data(), derived->size());
  return out;
}

}  // namespace

HandleCodec::HandleCodec(const vaultcore::MasterKey& key) : mac_(DeriveKey(key).span()) {}

std::array<uint8_t, 16> HandleCodec::Mac(std::span<const uint8_t> body) const {
  std::array<uint8_t, 16> mac{};
  auto full = mac_.Sign(body);
  if (full.ok()) std::memcpy(mac.data(), full->data(), mac.size());
  return mac;
}

FileHandle HandleCodec::Encode(const HandleFields& fields) const {
  FileHandle handle;
  uint8_t* p = handle.bytes.data();
  p[0] = kVersion;
  p[1] = static_cast<uint8_t>(fields.kind);
  std::memcpy(p + 2, fields.dir_hash.data(), fields.dir_hash.size());
  PutU64(p + 22, fields.inode);
  std::memcpy(p + 30, fields.nonce_prefix.data(), fields.nonce_prefix.size());
  const auto mac = Mac(handle.span().first(kBodySize));
  std::memcpy(p + kBodySize, mac.data(), kMacSize);
  return handle;
}

std::optional<HandleFields> HandleCodec::Decode(std::span<const uint8_t> handle) const {
  if (handle.size() != FileHandle::kSize || handle[0] != kVersion) return std::nullopt;
  const uint8_t kind = handle[1];
  if (kind < static_cast<uint8_t>(HandleKind::kDirectory) ||
      kind > static_cast<uint8_t>(HandleKind::kSymlink)) {
    return std::nullopt;
  }
  const auto mac = Mac(handle.first(kBodySize));
  if (!vaultcore::ConstantTimeEquals(mac, handle.subspan(kBodySize))) return std::nullopt;
  HandleFields fields;
  fields.kind = static_cast<HandleKind>(kind);
  std::memcpy(fields.dir_hash.data(), handle.data() + 2, fields.dir_hash.size());
  fields.inode = GetU64(handle.data() + 22);
  std::memcpy(fields.nonce_prefix.data(), handle.data() + 30, fields.nonce_prefix.size());
  return fields;
}

}  // namespace server
