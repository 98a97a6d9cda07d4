#include "vaultcore/codec.h"

#include <array>

namespace vaultcore {
namespace {

constexpr std::string_view kStandardChars =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kUrlChars =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::string_view kBase32Chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::string_view kHexChars = "0123456789abcdef";

std::string_view CharsFor(Base64Alphabet alphabet) {
  return alphabet == Base64Alphabet::kStandard ? kStandardChars : kUrlChars;
}

// 0xff marks a character outside the alphabet.
std::array<uint8_t, 256> ReverseTable(std::string_view chars) {
  std::array<uint8_t, 256> table;
  table.fill(0xff);
  for (size_t i = 0; i < chars.size(); ++i) table[static_cast<uint8_t>(chars[i])] = i;
  return table;
}

}  // namespace

std::string EncodeBase64(std::span<const uint8_t> bytes, Base64Alphabet alphabet,
                         Base64Padding padding) {
  const std::string_view chars = CharsFor(alphabet);
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += chars[(v >> 18) & 63];
    out += chars[(v >> 12) & 63];
    out += chars[(v >> 6) & 63];
    out += chars[v & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    const uint32_t v = (bytes[i] << 16) | (rest == 2 ? bytes[i + 1] << 8 : 0);
    out += chars[(v >> 18) & 63];
    out += chars[(v >> 12) & 63];
    if (rest == 2) out += chars[(v >> 6) & 63];
    if (padding == Base64Padding::kPadded) out.append(3 - rest, '=');
  }
  return out;
}

std::optional<Bytes> DecodeBase64(std::string_view text, Base64Alphabet alphabet,
                                  Base64Padding padding) {
  static const std::array<uint8_t, 256> kStandard = ReverseTable(kStandardChars);
  static const std::array<uint8_t, 256> kUrl = ReverseTable(kUrlChars);
  const auto& table = alphabet == Base64Alphabet::kStandard ? kStandard : kUrl;

  size_t data_len = text.size();
  if (padding == Base64Padding::kPadded) {
    if (text.size() % 4 != 0) return std::nullopt;
    while (data_len > 0 && text.size() - data_len < 2 && text[data_len - 1] == '=') --data_len;
  }
  if (data_len % 4 == 1) return std::nullopt;

  Bytes out;
  out.reserve(data_len * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < data_len; ++i) {
    const uint8_t v = table[static_cast<uint8_t>(text[i])];
    if (v == 0xff) return std::nullopt;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>(acc >> bits));
      acc &= (1u << bits) - 1;
    }
  }
  if (acc != 0) return std::nullopt;  // non-canonical trailing bits
  return out;
}

std::string EncodeBase32(std::span<const uint8_t> bytes) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (uint8_t b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += kBase32Chars[(acc >> bits) & 31];
    }
    acc &= (1u << bits) - 1;
  }
  if (bits > 0) out += kBase32Chars[(acc << (5 - bits)) & 31];
  while (out.size() % 8 != 0) out += '=';
  return out;
}

std::string EncodeHex(std::span<const uint8_t> bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out += kHexChars[b >> 4];
    out += kHexChars[b & 15];
  }
  return out;
}

std::optional<Bytes> DecodeHex(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Bytes out(text.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = nibble(text[2 * i]);
    const int lo = nibble(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

}  // namespace vaultcore
