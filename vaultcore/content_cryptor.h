// File content encryption: the file header and 32 KiB chunks of both cipher
// combos (SIV_GCM spec §7, SIV_CTRMAC spec §12), and the size arithmetic
// between cleartext and ciphertext.
//
// A ContentCryptor holds references to the master keys and per-thread
// OpenSSL contexts; it is safe to use from many threads at once. The
// MasterKey it was made from must outlive it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "vaultcore/masterkey.h"
#include "vaultcore/status.h"
#include "vaultcore/vault_config.h"

namespace vaultcore {

inline constexpr uint64_t kCleartextChunkSize = 32768;

// The decrypted header of one file: its nonce and its content key, which
// never change after the file is created. The key is wiped on destruction.
struct FileHeader {
  std::array<uint8_t, 16> nonce{};  // GCM uses the first 12 bytes
  std::array<uint8_t, 32> content_key{};
  std::array<uint8_t, 8> reserved{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

  FileHeader() = default;
  FileHeader(const FileHeader& other) = default;
  FileHeader& operator=(const FileHeader& other) = default;
  ~FileHeader();
};

class ContentCryptor {
 public:
  virtual ~ContentCryptor() = default;

  virtual CipherCombo combo() const = 0;
  virtual size_t header_size() const = 0;     // 68 (GCM) or 88 (CTRMAC)
  virtual size_t nonce_size() const = 0;      // header and chunk nonce: 12 or 16
  virtual size_t chunk_overhead() const = 0;  // 28 or 48 bytes per chunk
  size_t ciphertext_chunk_size() const { return kCleartextChunkSize + chunk_overhead(); }

  uint64_t CiphertextSize(uint64_t cleartext_size) const;
  // nullopt for a size no valid file can have (a header cut short, or a
  // last chunk with no room for a single byte). 0 maps to 0 (spec §7.5).
  std::optional<uint64_t> CleartextSize(uint64_t ciphertext_size) const;

  // A header with a fresh random nonce and content key.
  Result<FileHeader> NewHeader() const;
  // `out` must hold header_size() bytes.
  virtual Status EncryptHeader(const FileHeader& header, std::span<uint8_t> out) const = 0;
  // Errc::kCorrupt when the header does not authenticate.
  virtual Result<FileHeader> DecryptHeader(std::span<const uint8_t> ciphertext) const = 0;

  // Encrypts one chunk (1..32768 bytes of cleartext; 0 only for streams
  // such as dirid.c9r) into `out`, which must hold cleartext.size() +
  // chunk_overhead() bytes. `nonce` is for known-answer tests; empty means
  // a fresh random nonce, which is what every real write must use.
  virtual Status EncryptChunk(const FileHeader& header, uint64_t chunk_index,
                              std::span<const uint8_t> cleartext, std::span<uint8_t> out,
                              std::span<const uint8_t> nonce = {}) const = 0;
  // Decrypts one whole ciphertext chunk into `out` (ciphertext.size() -
  // chunk_overhead() bytes). Errc::kCorrupt when it does not authenticate;
  // `out` then holds nothing the caller may use.
  virtual Status DecryptChunk(const FileHeader& header, uint64_t chunk_index,
                              std::span<const uint8_t> ciphertext,
                              std::span<uint8_t> out) const = 0;
};

std::unique_ptr<ContentCryptor> MakeContentCryptor(CipherCombo combo, const MasterKey& key);

}  // namespace vaultcore
