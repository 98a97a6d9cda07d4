// NFSv3 file handles that need no server state to stay valid (design.md,
// "Handles must"): every field is a rename-proof identity taken from the
// ciphertext tree, and a MAC keyed from the vault's master key makes them
// unforgeable.
//
//   byte  0      format version (1)
//   byte  1      kind: 1 directory, 2 file, 3 symlink
//   bytes 2-21   directory hash: a directory's own (it names its content
//                directory, NameCipher::DirectoryHash); for a file or
//                symlink its parent's when the handle was made — a hint,
//                since a rename may have moved it since
//   bytes 22-29  inode of the ciphertext object (files and symlinks)
//   bytes 30-37  first 8 bytes of the file header nonce, so a reused inode
//                is not mistaken for the file; all zero when the file had
//                no header yet
//   bytes 38-53  HMAC-SHA256 over bytes 0-37, truncated to 16 bytes
//
// HandleCodec is immutable after construction and safe to share between
// threads; it keeps its own copy of the derived key, so the MasterKey may
// die first.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "vaultcore/crypto.h"
#include "vaultcore/masterkey.h"
#include "vaultcore/secure_bytes.h"

namespace server {

enum class HandleKind : uint8_t { kDirectory = 1, kFile = 2, kSymlink = 3 };

struct HandleFields {
  HandleKind kind = HandleKind::kDirectory;
  vaultcore::Sha1Digest dir_hash{};
  uint64_t inode = 0;
  std::array<uint8_t, 8> nonce_prefix{};

  bool operator==(const HandleFields&) const = default;
};

// The wire form of a handle; NFSv3 allows up to 64 bytes.
struct FileHandle {
  static constexpr size_t kSize = 54;
  std::array<uint8_t, kSize> bytes{};

  std::span<const uint8_t> span() const { return bytes; }
  // Fields read straight from the bytes, without the MAC check of Decode:
  // only for handles the server made and keeps itself.
  std::span<const uint8_t, 20> dir_hash() const { return std::span(bytes).subspan<2, 20>(); }
  std::span<const uint8_t, 8> nonce_prefix() const { return std::span(bytes).subspan<30, 8>(); }
};

class HandleCodec {
 public:
  explicit HandleCodec(const vaultcore::MasterKey& key);

  FileHandle Encode(const HandleFields& fields) const;
  // nullopt for anything this codec did not make: wrong length, version or
  // kind, or a MAC that does not verify (compared in constant time).
  std::optional<HandleFields> Decode(std::span<const uint8_t> handle) const;

 private:
  std::array<uint8_t, 16> Mac(std::span<const uint8_t> body) const;

  vaultcore::HmacSha256 mac_;  // under a key derived from the vault's MAC key
};

}  // namespace server
