// NameEncryptionCache: the ciphertext names that NameCipher::EncryptName
// gave, by parent directory id and cleartext name. A LOOKUP encrypts the
// name it is asked for each time, and with AES-SIV that was a quarter of
// the I/O thread's time in LOOKUPs at 32 in flight (bench/RESULTS.md,
// step 31).
//
// AES-SIV is deterministic: under one master key the same (directory id,
// name) always encrypts to the same ciphertext name. So an entry can never
// go stale, whatever happens to the directory, and the cache needs no
// invalidation, only a bound: past `max_bytes` it starts empty again. The
// entries hold cleartext names, which the server keeps in its listings
// anyway.
//
// Thread-safe.
#pragma once

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace vaultcore {

class NameEncryptionCache {
 public:
  explicit NameEncryptionCache(size_t max_bytes) : max_bytes_(max_bytes) {}

  std::optional<std::string> Find(std::string_view parent_dir_id,
                                  std::string_view cleartext_name) const;
  void Put(std::string_view parent_dir_id, std::string_view cleartext_name,
           std::string_view ciphertext_name);

  // Bytes held, counting keys, values and a fixed cost per entry.
  size_t bytes() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::string> names_;  // Key() -> ciphertext name
  size_t bytes_ = 0;
  const size_t max_bytes_;
};

}  // namespace vaultcore
