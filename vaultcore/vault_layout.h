// The names inside a vault's directory (spec §3, §5) and the small helpers
// the Vault's files share to build them. Internal to vaultcore.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "vaultcore/codec.h"
#include "vaultcore/crypto.h"
#include "vaultcore/status.h"

namespace vaultcore::vault_layout {

constexpr std::string_view kConfigFile = "vault.cryptomator";
constexpr std::string_view kMasterkeyFile = "masterkey.cryptomator";
constexpr std::string_view kDirFile = "dir.c9r";
constexpr std::string_view kDirIdBackupFile = "dirid.c9r";
constexpr std::string_view kSymlinkFile = "symlink.c9r";
constexpr std::string_view kContentsFile = "contents.c9r";
constexpr std::string_view kLongNameFile = "name.c9s";
constexpr std::string_view kStagedLongNameFile = "name.c9s.new";  // during a rename

inline std::string Join(std::string_view dir, std::string_view name) {
  std::string out(dir);
  out += '/';
  out += name;
  return out;
}

// A random (version 4) UUID: the form of directory ids and the config's jti.
inline Result<std::string> NewDirectoryId() {
  std::array<uint8_t, 16> b{};
  Status s = PublicRandomBytes(b);
  if (!s.ok()) return s;
  b[6] = (b[6] & 0x0f) | 0x40;  // version 4
  b[8] = (b[8] & 0x3f) | 0x80;  // RFC 4122 variant
  const std::string hex = EncodeHex(b);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

}  // namespace vaultcore::vault_layout
