// Small unencrypted files of the vault (vault.cryptomator,
// masterkey.cryptomator, dir.c9r, name.c9s): read whole with a size bound,
// created exclusively, or replaced atomically.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "vaultcore/status.h"

namespace vaultcore {

// Reads `path` whole; Errc::kCorrupt if it holds more than `max_size` bytes
// (a hostile or damaged file must not make us allocate without bound).
Result<std::string> ReadPlainFile(const std::string& path, size_t max_size);

// Writes `content` to a new file `path` (O_EXCL), fsynced when `sync`.
Status WritePlainFile(const std::string& path, std::string_view content, bool sync,
                      uint32_t mode = 0644);

// Replaces `path` with `content` through `path.tmp` and rename(2), so a
// reader sees the old or the new content, never a mix. With `durable`, the
// content and the rename reach the disk before it returns.
Status ReplacePlainFile(const std::string& path, std::string_view content, bool durable);

}  // namespace vaultcore
