// Unicode normalisation (utf8proc). Cryptomator encrypts names and derives
// keys from passwords in NFC (spec §3.2, §5.3).
#pragma once

#include <string>
#include <string_view>

namespace vaultcore {

// NFC of UTF-8 `text`. Invalid UTF-8 is returned unchanged: it has no
// normal form, and the bytes the user gave are the best we can do.
std::string NormalizeNfc(std::string_view text);

bool IsValidUtf8(std::string_view text);

}  // namespace vaultcore
