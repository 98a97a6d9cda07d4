// init, passwd, info: commands on the vault as a whole.
#include <cctype>
#include <cstdio>
#include <filesystem>

#include "server/commands.h"
#include "vaultcore/vault_config.h"

namespace vaultnfs::cli {
namespace po = boost::program_options;

using vaultcore::Errc;
using vaultcore::Status;

namespace {

// The shorteningThreshold range offered for new vaults.
constexpr int kMinShorteningThreshold = 36;
constexpr int kMaxShorteningThreshold = 220;

std::optional<vaultcore::CipherCombo> ParseCipherCombo(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (text == "SIV_GCM") return vaultcore::CipherCombo::kSivGcm;
  if (text == "SIV_CTRMAC") return vaultcore::CipherCombo::kSivCtrMac;
  return std::nullopt;
}

// A vault goes into a new or empty directory. Checked before the password
// is asked for (twice), not only by Vault::Create.
int CheckInitTarget(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec && status.type() != std::filesystem::file_type::not_found) {
    return Fail(Status::FromErrno(ec.value(), "cannot use " + path), "");
  }
  if (status.type() == std::filesystem::file_type::not_found) return kExitOk;
  if (status.type() != std::filesystem::file_type::directory) {
    return Fail(Status(Errc::kExists, path + " exists and is not a directory"), "",
                "choose a new or empty directory");
  }
  if (!std::filesystem::is_empty(path, ec) || ec) {
    return Fail(Status(Errc::kExists, path + " is not empty"), "",
                "choose a new or empty directory");
  }
  return kExitOk;
}

}  // namespace

int RunInit(const Invocation& invocation) {
  po::options_description own("Options");
  own.add_options()("shortening-threshold",
                    po::value<int>()->default_value(kMaxShorteningThreshold)->value_name("N"),
                    "longest encrypted name (36..220) stored as is; longer ones are shortened")(
      "cipher-combo", po::value<std::string>()->default_value("SIV_GCM")->value_name("COMBO"),
      "SIV_GCM, or the legacy SIV_CTRMAC");
  ParsedArgs args;
  if (auto rc = ParseArgs(invocation, own, 1, 1, &args)) return *rc;
  const std::string& path = args.positional[0];

  vaultcore::CreateOptions options;
  options.shortening_threshold = args.options["shortening-threshold"].as<int>();
  if (options.shortening_threshold < kMinShorteningThreshold ||
      options.shortening_threshold > kMaxShorteningThreshold) {
    return UsageError(invocation.command, "--shortening-threshold must be between " +
                                              std::to_string(kMinShorteningThreshold) + " and " +
                                              std::to_string(kMaxShorteningThreshold));
  }
  const auto combo = ParseCipherCombo(args.options["cipher-combo"].as<std::string>());
  if (!combo) {
    return UsageError(invocation.command, "unknown cipher combo '" +
                                              args.options["cipher-combo"].as<std::string>() +
                                              "' (SIV_GCM or SIV_CTRMAC)");
  }
  options.cipher_combo = *combo;
  if (int rc = CheckInitTarget(path); rc != kExitOk) return rc;

  Secret password;
  const PasswordSource source{args.password_file, "VAULTNFS_PASSWORD",
                              "Password for the new vault: ", /*confirm=*/true};
  if (int rc = GetPassword(source, "--password-file", &password); rc != kExitOk) return rc;
  if (password.empty()) {
    return Report(kExitUsage, "the password is empty", "choose a non-empty password");
  }
  Status status = vaultcore::Vault::Create(path, password.view(), options);
  if (!status.ok()) return Fail(status, "cannot create a vault in " + path);
  std::printf("created a vault in %s (%s, shortening threshold %d)\n", path.c_str(),
              std::string(vaultcore::CipherComboName(options.cipher_combo)).c_str(),
              options.shortening_threshold);
  return kExitOk;
}

int RunPasswd(const Invocation& invocation) {
  po::options_description own("Options");
  own.add_options()("new-password-file", po::value<std::string>()->value_name("FILE"),
                    "read the new password from the first line of FILE");
  ParsedArgs args;
  if (auto rc = ParseArgs(invocation, own, 1, 1, &args)) return *rc;
  const std::string& path = args.positional[0];
  if (int rc = CheckVaultDirectory(path); rc != kExitOk) return rc;

  PasswordSource new_source{std::nullopt, "VAULTNFS_NEW_PASSWORD", "New password: ",
                            /*confirm=*/true};
  if (args.options.count("new-password-file") != 0) {
    new_source.file = args.options["new-password-file"].as<std::string>();
  }
  Secret old_password;
  const std::string prompt = "Current password for " + path + ": ";
  const PasswordSource old_source{args.password_file, "VAULTNFS_PASSWORD", prompt.c_str(), false};
  if (int rc = GetPassword(old_source, "--password-file", &old_password); rc != kExitOk) return rc;
  if (WillPrompt(new_source)) {
    // Someone typing the new password twice should learn first that the
    // old one is wrong; costs one more key derivation.
    auto vault = vaultcore::Vault::Open(path, old_password.view(), {.read_only = true});
    if (!vault.ok()) return Fail(vault.status(), "cannot unlock " + path);
  }
  Secret new_password;
  if (int rc = GetPassword(new_source, "--new-password-file", &new_password); rc != kExitOk) {
    return rc;
  }
  if (new_password.empty()) {
    return Report(kExitUsage, "the new password is empty", "choose a non-empty password");
  }
  Status status = vaultcore::Vault::ChangePassword(path, old_password.view(), new_password.view());
  if (!status.ok()) return Fail(status, "cannot change the password of " + path);
  std::printf(
      "changed the password of %s; the previous masterkey.cryptomator is kept as "
      "masterkey.cryptomator.*.bkup and still opens with the old password\n",
      path.c_str());
  return kExitOk;
}

int RunInfo(const Invocation& invocation) {
  ParsedArgs args;
  if (auto rc = ParseArgs(invocation, po::options_description(), 1, 1, &args)) return *rc;
  std::unique_ptr<vaultcore::Vault> vault;
  if (int rc = OpenVault(args, args.positional[0], /*read_only=*/true, &vault); rc != kExitOk) {
    return rc;
  }
  const vaultcore::VaultConfig& config = vault->config();
  std::printf("vault:                %s\n", vault->path().c_str());
  std::printf("format:               %d\n", config.format);
  std::printf("cipher combo:         %s\n",
              std::string(vaultcore::CipherComboName(config.cipher_combo)).c_str());
  std::printf("shortening threshold: %d\n", config.shortening_threshold);
  std::printf("vault id:             %s\n", config.jti.c_str());
  return kExitOk;
}

}  // namespace vaultnfs::cli
