// The vault's two master keys and the password-protected file that holds
// them (`masterkey.cryptomator`, spec §3).
//
// MasterKey owns K_enc and K_mac in SecureBytes; they are wiped when it dies.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "vaultcore/secure_bytes.h"
#include "vaultcore/status.h"

namespace vaultcore {

class MasterKey {
 public:
  static constexpr size_t kKeySize = 32;

  // Both keys 32 bytes, from a CSPRNG.
  static Result<MasterKey> Generate();
  MasterKey(std::span<const uint8_t> enc_key, std::span<const uint8_t> mac_key);

  std::span<const uint8_t> enc_key() const { return keys_.first(kKeySize); }
  std::span<const uint8_t> mac_key() const { return keys_.last(kKeySize); }
  // K_enc ‖ K_mac: the key of the vault.cryptomator JWT.
  std::span<const uint8_t> raw() const { return keys_.span(); }
  // K_mac ‖ K_enc: the AES-SIV key in RFC 5297 order.
  SecureBytes SivKey() const;

 private:
  SecureBytes keys_;  // enc ‖ mac
};

// scrypt parameters of a masterkey file.
struct ScryptParams {
  uint64_t n = 32768;
  uint32_t r = 8;
};

// Parses and unlocks a masterkey file's JSON text with `password` (any
// Unicode form: it is normalised to NFC first). Errc::kWrongPassword when
// the keys do not unwrap; Errc::kNotAVault when the file is malformed or
// its parameters are absurd (refused before running scrypt).
Result<MasterKey> UnlockMasterKeyFile(std::string_view json_text, std::string_view password);

// The JSON text of a masterkey file that wraps `key` under `password`, with
// a fresh salt, version 999 and a correct versionMac (spec §3.3).
Result<std::string> WrapMasterKeyFile(const MasterKey& key, std::string_view password,
                                      ScryptParams params = {});

}  // namespace vaultcore
