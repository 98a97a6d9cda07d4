#include "vaultcore/masterkey.h"

#include <nlohmann/json.hpp>

#include <array>

#include "vaultcore/codec.h"
#include "vaultcore/crypto.h"
#include "vaultcore/unicode.h"

namespace vaultcore {
namespace {

constexpr int kVersion = 999;
constexpr size_t kKekSize = 32;
// 128·r·N bytes of scrypt memory; refuse files that ask for more.
constexpr uint64_t kMaxScryptMemory = 1ull << 30;

Status Malformed(std::string_view why) {
  return Status(Errc::kNotAVault, "masterkey.cryptomator is malformed: " + std::string(why));
}

std::array<uint8_t, 4> Int32Be(int32_t v) {
  const auto u = static_cast<uint32_t>(v);
  return {static_cast<uint8_t>(u >> 24), static_cast<uint8_t>(u >> 16),
          static_cast<uint8_t>(u >> 8), static_cast<uint8_t>(u)};
}

Result<SecureBytes> DeriveKek(std::string_view password, std::span<const uint8_t> salt,
                              ScryptParams params) {
  const std::string normalized = NormalizeNfc(password);
  SecureBytes kek(kKekSize);
  Status s = Scrypt(AsBytes(normalized), salt, params.n, params.r, 1, kek.span());
  if (!s.ok()) return s;
  return kek;
}

}  // namespace

Result<MasterKey> MasterKey::Generate() {
  SecureBytes keys(2 * kKeySize);
  Status s = RandomBytes(keys.span());
  if (!s.ok()) return s;
  return MasterKey(keys.first(kKeySize), keys.last(kKeySize));
}

MasterKey::MasterKey(std::span<const uint8_t> enc_key, std::span<const uint8_t> mac_key)
    : keys_(2 * kKeySize) {
  std::copy(enc_key.begin(), enc_key.end(), keys_.data());
  std::copy(mac_key.begin(), mac_key.end(), keys_.data() + kKeySize);
}

SecureBytes MasterKey::SivKey() const {
  SecureBytes siv(2 * kKeySize);
  std::copy(mac_key().begin(), mac_key().end(), siv.data());
  std::copy(enc_key().begin(), enc_key().end(), siv.data() + kKeySize);
  return siv;
}

Result<MasterKey> UnlockMasterKeyFile(std::string_view json_text, std::string_view password) {
  const nlohmann::json doc = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return Malformed("not a JSON object");

  auto bytes_field = [&](const char* name) -> std::optional<Bytes> {
    auto it = doc.find(name);
    if (it == doc.end() || !it->is_string()) return std::nullopt;
    return DecodeBase64(it->get<std::string>(), Base64Alphabet::kStandard, Base64Padding::kPadded);
  };
  auto int_field = [&](const char* name) -> std::optional<int64_t> {
    auto it = doc.find(name);
    if (it == doc.end() || !it->is_number_integer()) return std::nullopt;
    return it->get<int64_t>();
  };

  const auto version = int_field("version");
  const auto n = int_field("scryptCostParam");
  const auto r = int_field("scryptBlockSize");
  const auto salt = bytes_field("scryptSalt");
  const auto wrapped_enc = bytes_field("primaryMasterKey");
  const auto wrapped_mac = bytes_field("hmacMasterKey");
  const auto version_mac = bytes_field("versionMac");
  if (!version || !n || !r || !salt || !wrapped_enc || !wrapped_mac || !version_mac) {
    return Malformed("a field is missing or not of the right type");
  }
  if (*version == 0) return Malformed("version is 0");
  if (*n <= 1 || (*n & (*n - 1)) != 0) return Malformed("scryptCostParam is not a power of two");
  if (*r <= 0 || *r > 1024) return Malformed("scryptBlockSize out of range");
  if (static_cast<uint64_t>(*n) > kMaxScryptMemory / (128ull * static_cast<uint64_t>(*r))) {
    return Malformed("scrypt parameters would need more than 1 GiB of memory");
  }
  if (salt->empty()) return Malformed("scryptSalt is empty");

  auto kek = DeriveKek(password, *salt, {static_cast<uint64_t>(*n), static_cast<uint32_t>(*r)});
  if (!kek.ok()) return kek.status();
  auto enc = AesKeyUnwrap(kek->span(), *wrapped_enc);
  auto mac = AesKeyUnwrap(kek->span(), *wrapped_mac);
  if (!enc.ok() || !mac.ok()) {
    return Status(Errc::kWrongPassword, "wrong password (the master keys did not unwrap)");
  }
  if (enc->size() != MasterKey::kKeySize || mac->size() != MasterKey::kKeySize) {
    return Malformed("wrapped keys are not 256-bit keys");
  }
  // versionMac is not checked by Cryptomator either (spec §3.2).
  return MasterKey(enc->span(), mac->span());
}

Result<std::string> WrapMasterKeyFile(const MasterKey& key, std::string_view password,
                                      ScryptParams params) {
  std::array<uint8_t, 8> salt{};
  Status s = PublicRandomBytes(salt);
  if (!s.ok()) return s;
  auto kek = DeriveKek(password, salt, params);
  if (!kek.ok()) return kek.status();
  auto wrapped_enc = AesKeyWrap(kek->span(), key.enc_key());
  auto wrapped_mac = AesKeyWrap(kek->span(), key.mac_key());
  if (!wrapped_enc.ok()) return wrapped_enc.status();
  if (!wrapped_mac.ok()) return wrapped_mac.status();
  auto version_mac = Hmac("SHA256", key.mac_key(), Int32Be(kVersion));
  if (!version_mac.ok()) return version_mac.status();

  auto b64 = [](std::span<const uint8_t> b) {
    return EncodeBase64(b, Base64Alphabet::kStandard, Base64Padding::kPadded);
  };
  // Member order and indentation as the desktop app writes them.
  nlohmann::ordered_json doc;
  doc["version"] = kVersion;
  doc["scryptSalt"] = b64(salt);
  doc["scryptCostParam"] = params.n;
  doc["scryptBlockSize"] = params.r;
  doc["primaryMasterKey"] = b64(*wrapped_enc);
  doc["hmacMasterKey"] = b64(*wrapped_mac);
  doc["versionMac"] = b64(*version_mac);
  return doc.dump(2);
}

}  // namespace vaultcore
