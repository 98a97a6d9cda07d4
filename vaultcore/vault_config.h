// `vault.cryptomator`: the vault configuration, a compact JWS signed with
// the master key (spec §4).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "vaultcore/status.h"

namespace vaultcore {

enum class CipherCombo { kSivGcm, kSivCtrMac };

std::string_view CipherComboName(CipherCombo combo);

struct VaultConfig {
  int format = 8;
  CipherCombo cipher_combo = CipherCombo::kSivGcm;
  int shortening_threshold = 220;
  std::string jti;                                             // vault UUID
  std::string key_id = "masterkeyfile:masterkey.cryptomator";  // header "kid"
  std::string algorithm = "HS256";                             // header "alg"
};

// The header's "kid", read before anything is verified (it says where the
// key comes from). Errc::kUnsupported for a non-password (Hub) vault,
// Errc::kNotAVault for a malformed token.
Result<std::string> ReadVaultConfigKeyId(std::string_view token);

// Verifies the signature with `raw_key` (K_enc ‖ K_mac) and then the
// payload, in cryptofs' order. Rejects alg "none" and unknown algorithms,
// a wrong key (kWrongPassword: the masterkey does not belong here), a
// format other than 8 and unknown cipher combos, each with a message.
Result<VaultConfig> VerifyVaultConfig(std::string_view token, std::span<const uint8_t> raw_key);

// A token for `config`, signed with `raw_key`, as Cryptomator writes it.
Result<std::string> SignVaultConfig(const VaultConfig& config, std::span<const uint8_t> raw_key);

}  // namespace vaultcore
