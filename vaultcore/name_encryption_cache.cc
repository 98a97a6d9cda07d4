#include "vaultcore/name_encryption_cache.h"

namespace vaultcore {

namespace {

// A directory id never holds a NUL, so the key is unambiguous.
std::string Key(std::string_view parent_dir_id, std::string_view cleartext_name) {
  std::string key;
  key.reserve(parent_dir_id.size() + 1 + cleartext_name.size());
  key.append(parent_dir_id).push_back('\0');
  key.append(cleartext_name);
  return key;
}

// What a map node and two string headers cost beyond the characters.
constexpr size_t kEntryOverhead = 96;

}  // namespace

std::optional<std::string> NameEncryptionCache::Find(std::string_view parent_dir_id,
                                                     std::string_view cleartext_name) const {
  const std::string key = Key(parent_dir_id, cleartext_name);
  const std::lock_guard lock(mutex_);
  const auto it = names_.find(key);
  if (it == names_.end()) return std::nullopt;
  return it->second;
}

void NameEncryptionCache::Put(std::string_view parent_dir_id, std::string_view cleartext_name,
                              std::string_view ciphertext_name) {
  std::string key = Key(parent_dir_id, cleartext_name);
  const size_t cost = key.size() + ciphertext_name.size() + kEntryOverhead;
  const std::lock_guard lock(mutex_);
  if (bytes_ + cost > max_bytes_) {
    names_.clear();
    bytes_ = 0;
    if (cost > max_bytes_) return;
  }
  if (names_.try_emplace(std::move(key), ciphertext_name).second) bytes_ += cost;
}

size_t NameEncryptionCache::bytes() const {
  const std::lock_guard lock(mutex_);
  return bytes_;
}

}  // namespace vaultcore
