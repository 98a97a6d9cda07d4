#include "vaultcore/vault_config.h"

#include <nlohmann/json.hpp>

#include <vector>

#include "vaultcore/codec.h"
#include "vaultcore/crypto.h"

namespace vaultcore {
namespace {

struct Segments {
  std::string_view header, payload, signature, signed_part;
};

Status NotAVault(std::string_view why) {
  return Status(Errc::kNotAVault, "vault.cryptomator is malformed: " + std::string(why));
}

Result<Segments> Split(std::string_view token) {
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ' ||
                            token.back() == '\t')) {
    token.remove_suffix(1);
  }
  const size_t a = token.find('.');
  const size_t b = a == std::string_view::npos ? a : token.find('.', a + 1);
  if (b == std::string_view::npos || token.find('.', b + 1) != std::string_view::npos) {
    return NotAVault("not a compact JWS (three dot-separated parts)");
  }
  return Segments{token.substr(0, a), token.substr(a + 1, b - a - 1), token.substr(b + 1),
                  token.substr(0, b)};
}

Result<nlohmann::json> DecodeJsonSegment(std::string_view segment, std::string_view what) {
  auto raw = DecodeBase64(segment, Base64Alphabet::kUrl, Base64Padding::kUnpadded);
  if (!raw) return NotAVault(std::string(what) + " is not base64url");
  nlohmann::json doc = nlohmann::json::parse(AsChars(*raw), nullptr, false);
  if (!doc.is_object()) return NotAVault(std::string(what) + " is not a JSON object");
  return doc;
}

// JWS algorithm name -> OpenSSL digest name; empty for anything we refuse.
std::string_view DigestFor(std::string_view alg) {
  if (alg == "HS256") return "SHA256";
  if (alg == "HS384") return "SHA384";
  if (alg == "HS512") return "SHA512";
  return {};
}

}  // namespace

std::string_view CipherComboName(CipherCombo combo) {
  return combo == CipherCombo::kSivGcm ? "SIV_GCM" : "SIV_CTRMAC";
}

Result<std::string> ReadVaultConfigKeyId(std::string_view token) {
  auto segments = Split(token);
  if (!segments.ok()) return segments.status();
  auto header = DecodeJsonSegment(segments->header, "the JWT header");
  if (!header.ok()) return header.status();
  auto kid = header->find("kid");
  if (kid == header->end() || !kid->is_string()) return NotAVault("the JWT header has no kid");
  std::string key_id = kid->get<std::string>();
  const std::string_view scheme = "masterkeyfile:";
  if (key_id.size() < scheme.size() ||
      !std::equal(scheme.begin(), scheme.end(), key_id.begin(), [](char x, char y) {
        return x == std::tolower(static_cast<unsigned char>(y));
      })) {
    return Status(Errc::kUnsupported,
                  "this vault's key is not a password-protected masterkey "
                  "file (kid \"" +
                      key_id + "\"); Hub vaults are not supported");
  }
  return key_id;
}

Result<VaultConfig> VerifyVaultConfig(std::string_view token, std::span<const uint8_t> raw_key) {
  auto segments = Split(token);
  if (!segments.ok()) return segments.status();
  auto header = DecodeJsonSegment(segments->header, "the JWT header");
  if (!header.ok()) return header.status();
  auto alg_it = header->find("alg");
  const std::string alg =
      alg_it != header->end() && alg_it->is_string() ? alg_it->get<std::string>() : "";
  const std::string_view digest = DigestFor(alg);
  if (digest.empty()) {
    return Status(Errc::kNotAVault, "vault.cryptomator uses signature algorithm \"" + alg +
                                        "\"; only HS256, HS384 and HS512 are accepted");
  }
  auto signature =
      DecodeBase64(segments->signature, Base64Alphabet::kUrl, Base64Padding::kUnpadded);
  if (!signature) return NotAVault("the signature is not base64url");
  auto expected = Hmac(digest, raw_key, AsBytes(segments->signed_part));
  if (!expected.ok()) return expected.status();
  if (!ConstantTimeEquals(*expected, *signature)) {
    return Status(Errc::kWrongPassword,
                  "vault.cryptomator's signature does not match the master key: the masterkey "
                  "file does not belong to this vault, or the configuration was tampered with");
  }

  auto payload = DecodeJsonSegment(segments->payload, "the JWT payload");
  if (!payload.ok()) return payload.status();
  VaultConfig config;
  config.algorithm = alg;
  if (auto kid = header->find("kid"); kid != header->end() && kid->is_string()) {
    config.key_id = kid->get<std::string>();
  }
  auto format = payload->find("format");
  if (format == payload->end() || !format->is_number_integer()) {
    return NotAVault("the payload has no format");
  }
  const int64_t format_number = format->get<int64_t>();
  if (format_number != 8) {
    return Status(Errc::kUnsupported, "vault format " + std::to_string(format_number) +
                                          " is not supported (only format 8); open the vault "
                                          "with Cryptomator to migrate it");
  }
  config.format = 8;
  auto combo = payload->find("cipherCombo");
  const std::string combo_name =
      combo != payload->end() && combo->is_string() ? combo->get<std::string>() : "";
  if (combo_name == "SIV_GCM") {
    config.cipher_combo = CipherCombo::kSivGcm;
  } else if (combo_name == "SIV_CTRMAC") {
    config.cipher_combo = CipherCombo::kSivCtrMac;
  } else {
    return Status(Errc::kUnsupported,
                  "unknown cipher combo \"" + combo_name + "\" (supported: SIV_GCM, SIV_CTRMAC)");
  }
  auto threshold = payload->find("shorteningThreshold");
  if (threshold == payload->end() || !threshold->is_number_integer() ||
      threshold->get<int64_t>() < 28 || threshold->get<int64_t>() > 1'000'000) {
    return NotAVault("shorteningThreshold is missing or out of range");
  }
  config.shortening_threshold = threshold->get<int>();
  if (auto jti = payload->find("jti"); jti != payload->end() && jti->is_string()) {
    config.jti = jti->get<std::string>();
  }
  return config;
}

Result<std::string> SignVaultConfig(const VaultConfig& config, std::span<const uint8_t> raw_key) {
  const std::string_view digest = DigestFor(config.algorithm);
  if (digest.empty()) return Status(Errc::kInvalidArgument, "unsupported JWS algorithm");
  nlohmann::ordered_json header;
  header["kid"] = config.key_id;
  header["typ"] = "JWT";
  header["alg"] = config.algorithm;
  nlohmann::ordered_json payload;
  payload["format"] = config.format;
  payload["shorteningThreshold"] = config.shortening_threshold;
  payload["jti"] = config.jti;
  payload["cipherCombo"] = std::string(CipherComboName(config.cipher_combo));
  auto b64 = [](std::string_view s) {
    return EncodeBase64(AsBytes(s), Base64Alphabet::kUrl, Base64Padding::kUnpadded);
  };
  std::string token = b64(header.dump()) + "." + b64(payload.dump());
  auto signature = Hmac(digest, raw_key, AsBytes(token));
  if (!signature.ok()) return signature.status();
  token += ".";
  token += EncodeBase64(*signature, Base64Alphabet::kUrl, Base64Padding::kUnpadded);
  return token;
}

}  // namespace vaultcore
