// Making a vault, unlocking it, and changing its password: everything that
// touches masterkey.cryptomator and vault.cryptomator (spec §2, §3).
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>

#include "vaultcore/log.h"
#include "vaultcore/plain_file.h"
#include "vaultcore/vault.h"
#include "vaultcore/vault_layout.h"

namespace vaultcore {
using namespace vault_layout;

namespace {

constexpr size_t kMaxKeyFileSize = 64 * 1024;

// masterkey.cryptomator as JSON text; kNotAVault when the vault has none.
Result<std::string> ReadMasterkeyFile(const std::string& vault_path) {
  auto json = ReadPlainFile(Join(vault_path, kMasterkeyFile), kMaxKeyFileSize);
  if (!json.ok() && json.status().code() == Errc::kNotFound) {
    return Status(Errc::kNotAVault, vault_path + " has no masterkey.cryptomator");
  }
  return json;
}

}  // namespace

Status Vault::Create(const std::string& path, std::string_view password,
                     const CreateOptions& options) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    if (!std::filesystem::is_directory(path, ec)) {
      return Status(Errc::kExists, path + " exists and is not a directory");
    }
    if (!std::filesystem::is_empty(path, ec)) {
      return Status(Errc::kExists, path + " is not empty; choose a new or empty directory");
    }
  } else if (!std::filesystem::create_directories(path, ec) && ec) {
    return Status::FromErrno(ec.value(), "create " + path);
  }

  auto key = MasterKey::Generate();
  if (!key.ok()) return key.status();
  auto masterkey_json = WrapMasterKeyFile(*key, password, options.scrypt);
  if (!masterkey_json.ok()) return masterkey_json.status();
  auto jti = NewDirectoryId();
  if (!jti.ok()) return jti.status();
  VaultConfig config;
  config.cipher_combo = options.cipher_combo;
  config.shortening_threshold = options.shortening_threshold;
  config.jti = *jti;
  auto token = SignVaultConfig(config, key->raw());
  if (!token.ok()) return token.status();

  Status s = WritePlainFile(Join(path, kMasterkeyFile), *masterkey_json, true);
  if (s.ok()) s = WritePlainFile(Join(path, kConfigFile), *token, true);
  if (!s.ok()) return s;

  // The root directory: its content directory and its (empty) id backup.
  const NameCipher names(*key, config.shortening_threshold);
  const auto cryptor = MakeContentCryptor(config.cipher_combo, *key);
  auto root = names.ContentDirPath("");
  if (!root.ok()) return root.status();
  const std::string root_path = Join(path, *root);
  std::filesystem::create_directories(root_path, ec);
  if (ec) return Status::FromErrno(ec.value(), "create " + root_path);
  return WriteSmallEncryptedFile(*cryptor, Join(root_path, kDirIdBackupFile), "",
                                 /*final_empty_chunk=*/true);
}

Result<std::unique_ptr<Vault>> Vault::Open(const std::string& path, std::string_view password,
                                           const OpenOptions& options) {
  auto token = ReadPlainFile(Join(path, kConfigFile), kMaxKeyFileSize);
  if (!token.ok()) {
    if (token.status().code() == Errc::kNotFound || token.status().code() == Errc::kNotDirectory) {
      return Status(Errc::kNotAVault, path + " is not a Cryptomator vault (no vault.cryptomator)");
    }
    return token.status();
  }
  auto kid = ReadVaultConfigKeyId(*token);
  if (!kid.ok()) return kid.status();
  if (*kid != "masterkeyfile:masterkey.cryptomator") {
    Log(LogLevel::kWarning, "vault.cryptomator names key \"" + *kid +
                                "\"; using masterkey.cryptomator as Cryptomator does");
  }
  auto masterkey_json = ReadMasterkeyFile(path);
  if (!masterkey_json.ok()) return masterkey_json.status();
  auto key = UnlockMasterKeyFile(*masterkey_json, password);
  if (!key.ok()) return key.status();
  auto config = VerifyVaultConfig(*token, key->raw());
  if (!config.ok()) return config.status();

  std::unique_ptr<Vault> vault(
      new Vault(path, std::move(config).value(), std::move(key).value(), options.read_only));
  auto root = vault->names_.ContentDirPath("");
  if (!root.ok()) return root.status();
  vault->root_ = {"", Join(path, *root)};
  struct stat st;
  if (stat(vault->root_.content_path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status(Errc::kNotAVault,
                  path + " has no root directory (" + *root + "): the vault is damaged");
  }
  return vault;
}

Status Vault::ChangePassword(const std::string& path, std::string_view old_password,
                             std::string_view new_password) {
  auto old_json = ReadMasterkeyFile(path);
  if (!old_json.ok()) return old_json.status();
  auto key = UnlockMasterKeyFile(*old_json, old_password);
  if (!key.ok()) return key.status();
  auto token = ReadPlainFile(Join(path, kConfigFile), kMaxKeyFileSize);
  if (!token.ok()) return token.status();
  auto config = VerifyVaultConfig(*token, key->raw());
  if (!config.ok()) return config.status();
  auto new_json = WrapMasterKeyFile(*key, new_password);
  if (!new_json.ok()) return new_json.status();

  // Backup named like Cryptomator's: <file>.<first 4 bytes of SHA-256, hex>.bkup
  const Sha256Digest digest = Sha256(AsBytes(*old_json));
  std::string tag = EncodeHex(std::span(digest).first(4));
  for (char& c : tag) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::string file = Join(path, kMasterkeyFile);
  const std::string backup = file + "." + tag + ".bkup";
  unlink(backup.c_str());
  Status s = WritePlainFile(backup, *old_json, true);
  if (!s.ok()) return s;
  return ReplacePlainFile(file, *new_json, /*durable=*/true);
}

}  // namespace vaultcore
