#include "vaultcore/name_cipher.h"

namespace vaultcore {

NameCipher::NameCipher(const MasterKey& key, int shortening_threshold)
    : siv_(key.SivKey().span()), threshold_(shortening_threshold) {}

Result<std::string> NameCipher::EncryptName(std::string_view cleartext_name,
                                            std::string_view parent_dir_id) const {
  const std::span<const uint8_t> ad[] = {AsBytes(parent_dir_id)};
  auto sealed = siv_.Encrypt(ad, AsBytes(cleartext_name));
  if (!sealed.ok()) return sealed.status();
  std::string name = EncodeBase64(*sealed, Base64Alphabet::kUrl, Base64Padding::kPadded);
  name += kNodeSuffix;
  return name;
}

Result<std::string> NameCipher::DecryptName(std::string_view ciphertext_name,
                                            std::string_view parent_dir_id) const {
  if (!ciphertext_name.ends_with(kNodeSuffix)) {
    return Status(Errc::kCorrupt, "not a .c9r name");
  }
  ciphertext_name.remove_suffix(kNodeSuffix.size());
  auto sealed = DecodeBase64(ciphertext_name, Base64Alphabet::kUrl, Base64Padding::kPadded);
  if (!sealed) return Status(Errc::kCorrupt, "name is not canonical base64url");
  const std::span<const uint8_t> ad[] = {AsBytes(parent_dir_id)};
  auto plain = siv_.Decrypt(ad, *sealed);
  if (!plain.ok()) return plain.status();
  return std::string(AsChars(*plain));
}

std::string NameCipher::ShortenedName(std::string_view ciphertext_name) {
  const Sha1Digest digest = Sha1(AsBytes(ciphertext_name));
  return EncodeBase64(digest, Base64Alphabet::kUrl, Base64Padding::kPadded) +
         std::string(kShortenedSuffix);
}

Result<std::string> NameCipher::ContentDirPath(std::string_view dir_id) const {
  auto hash = DirectoryHash(dir_id);
  if (!hash.ok()) return hash.status();
  return ContentDirPathOfHash(*hash);
}

Result<Sha1Digest> NameCipher::DirectoryHash(std::string_view dir_id) const {
  auto sealed = siv_.Encrypt({}, AsBytes(dir_id));  // no associated data here (spec §6.2)
  if (!sealed.ok()) return sealed.status();
  return Sha1(*sealed);
}

std::string NameCipher::ContentDirPathOfHash(const Sha1Digest& hash) {
  const std::string text = EncodeBase32(hash);
  return "d/" + text.substr(0, 2) + "/" + text.substr(2);
}

}  // namespace vaultcore
