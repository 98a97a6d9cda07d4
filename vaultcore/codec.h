// Byte <-> text encodings with the exact padding rules the vault format
// needs (spec §1): standard base64 with padding (masterkey fields),
// base64url with padding (node names), base64url without padding (JWT),
// upper-case base32 (directory hashes) and lower-case hex (tests, logs).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vaultcore {

using Bytes = std::vector<uint8_t>;

enum class Base64Alphabet { kStandard, kUrl };
enum class Base64Padding { kPadded, kUnpadded };

std::string EncodeBase64(std::span<const uint8_t> bytes, Base64Alphabet alphabet,
                         Base64Padding padding);

// Decodes strictly: only the alphabet's characters, padding exactly as
// `padding` says (kPadded: required and correct; kUnpadded: absent), and no
// non-zero bits in the unused tail. Strictness matters because a node name
// is valid only in its canonical form.
std::optional<Bytes> DecodeBase64(std::string_view text, Base64Alphabet alphabet,
                                  Base64Padding padding);

// RFC 4648 base32, upper case, padded with '=' when the length needs it.
std::string EncodeBase32(std::span<const uint8_t> bytes);

std::string EncodeHex(std::span<const uint8_t> bytes);
std::optional<Bytes> DecodeHex(std::string_view text);

inline std::span<const uint8_t> AsBytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}
inline std::string_view AsChars(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace vaultcore
