// Thin, value-returning wrappers over the OpenSSL 3 primitives the vault
// format uses. No cryptography is implemented here, only called; the one
// exception is the S2V chaining for an empty plaintext (spec §6.2), built
// from OpenSSL's CMAC because OpenSSL's SIV refuses that input.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <span>
#include <string_view>
#include <vector>

#include "vaultcore/codec.h"
#include "vaultcore/secure_bytes.h"
#include "vaultcore/status.h"

struct evp_mac_ctx_st;  // OpenSSL's EVP_MAC_CTX

namespace vaultcore {

using Sha1Digest = std::array<uint8_t, 20>;
using Sha256Digest = std::array<uint8_t, 32>;

// Fills `out` from OpenSSL's private CSPRNG: for keys and other secrets,
// so no key is ever drawn before it is used.
Status RandomBytes(std::span<uint8_t> out);

// Fills `out` with random bytes for a value written out in the clear
// (nonces, salts, directory ids, the write verifier), from a per-thread
// pool of 4 KiB that OpenSSL's public CSPRNG refills. OpenSSL 3.0's
// RAND_bytes costs about 1 µs a call whatever its size, and the server
// draws a 12-byte nonce for every chunk it encrypts: three calls per
// CREATE and 32 per MiB written were 8 % of the workers' time in CREATEs
// (bench/RESULTS.md, step 33). Every byte is handed out once; a child
// process forked by a thread that has a pool starts with an empty one, so
// parent and child never draw the same bytes.
Status PublicRandomBytes(std::span<uint8_t> out);

// scrypt (RFC 7914) with a memory cap raised to what N and r need.
Status Scrypt(std::span<const uint8_t> password, std::span<const uint8_t> salt, uint64_t n,
              uint32_t r, uint32_t p, std::span<uint8_t> out);

// RFC 3394 AES key wrap with the default IV. Unwrap reports an integrity
// failure as Errc::kCorrupt.
Result<Bytes> AesKeyWrap(std::span<const uint8_t> kek, std::span<const uint8_t> key);
Result<SecureBytes> AesKeyUnwrap(std::span<const uint8_t> kek, std::span<const uint8_t> wrapped);

// HMAC with digest "SHA256", "SHA384" or "SHA512".
Result<Bytes> Hmac(std::string_view digest, std::span<const uint8_t> key,
                   std::span<const uint8_t> data);
Sha1Digest Sha1(std::span<const uint8_t> data);
Sha256Digest Sha256(std::span<const uint8_t> data);

// Constant-time equality of two byte strings (false if the lengths differ).
bool ConstantTimeEquals(std::span<const uint8_t> a, std::span<const uint8_t> b);

// HMAC-SHA256 under a fixed key, reusable from many threads. Keying (fetch
// the digest, hash the pads) costs more than the MAC of a short input, so
// keyed contexts are kept in a pool and only re-initialised per Sign.
class HmacSha256 {
 public:
  explicit HmacSha256(std::span<const uint8_t> key);
  ~HmacSha256();
  HmacSha256(const HmacSha256&) = delete;
  HmacSha256& operator=(const HmacSha256&) = delete;

  Result<Sha256Digest> Sign(std::span<const uint8_t> data) const;

 private:
  ::evp_mac_ctx_st* keyed_;  // the template every pooled context copies
  mutable std::mutex mutex_;
  mutable std::vector<::evp_mac_ctx_st*> idle_;  // keyed, ready for EVP_MAC_init
};

// AES-SIV (RFC 5297) with a fixed key, reusable from many threads. `key`
// is 32, 48 or 64 bytes (Cryptomator: 64, AES-256) in RFC order: S2V (MAC)
// half first, CTR half second. Output is
// V (16 bytes) followed by the ciphertext, as Cryptomator stores it.
class AesSiv {
 public:
  static constexpr size_t kTagSize = 16;

  explicit AesSiv(std::span<const uint8_t> key);
  ~AesSiv();
  AesSiv(const AesSiv&) = delete;
  AesSiv& operator=(const AesSiv&) = delete;

  Result<Bytes> Encrypt(std::span<const std::span<const uint8_t>> associated_data,
                        std::span<const uint8_t> plaintext) const;
  // Errc::kCorrupt when the synthetic IV does not verify.
  Result<Bytes> Decrypt(std::span<const std::span<const uint8_t>> associated_data,
                        std::span<const uint8_t> ciphertext) const;

 private:
  Result<std::array<uint8_t, kTagSize>> S2vOfEmpty(
      std::span<const std::span<const uint8_t>> associated_data) const;

  SecureBytes key_;
  struct Impl;
  Impl* impl_;
};

}  // namespace vaultcore
