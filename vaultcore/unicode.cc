#include "vaultcore/unicode.h"

#include <utf8proc.h>

#include <cstdlib>

namespace vaultcore {

std::string NormalizeNfc(std::string_view text) {
  // Pure ASCII is already NFC; skip the allocation for the common case.
  bool ascii = true;
  for (char c : text) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  if (ascii) return std::string(text);

  utf8proc_uint8_t* out = nullptr;
  const utf8proc_ssize_t len =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                   static_cast<utf8proc_ssize_t>(text.size()), &out,
                   static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (len < 0) return std::string(text);
  std::string result(reinterpret_cast<const char*>(out), static_cast<size_t>(len));
  std::free(out);  // NOLINT: utf8proc allocates with malloc
  return result;
}

bool IsValidUtf8(std::string_view text) {
  auto p = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  utf8proc_ssize_t left = static_cast<utf8proc_ssize_t>(text.size());
  while (left > 0) {
    utf8proc_int32_t cp = 0;
    const utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);
    if (n <= 0) return false;
    p += n;
    left -= n;
  }
  return true;
}

}  // namespace vaultcore
