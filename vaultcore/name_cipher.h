// Node names and directory locations (spec §5, §6.2): AES-SIV name
// encryption with the parent directory id as associated data, `.c9s`
// shortening, and the `d/XX/YYYY…` path of a directory id.
//
// Thread-safe; the MasterKey it is made from may die after construction.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "vaultcore/crypto.h"
#include "vaultcore/masterkey.h"
#include "vaultcore/status.h"

namespace vaultcore {

inline constexpr std::string_view kNodeSuffix = ".c9r";
inline constexpr std::string_view kShortenedSuffix = ".c9s";

class NameCipher {
 public:
  NameCipher(const MasterKey& key, int shortening_threshold);

  // "<base64url padded>.c9r" for `cleartext_name` (as given: callers decide
  // about NFC) inside the directory `parent_dir_id`.
  Result<std::string> EncryptName(std::string_view cleartext_name,
                                  std::string_view parent_dir_id) const;
  // Inverse of EncryptName. Errc::kCorrupt if the name is not canonical
  // base64url or does not authenticate under `parent_dir_id`.
  Result<std::string> DecryptName(std::string_view ciphertext_name,
                                  std::string_view parent_dir_id) const;

  // Whether `ciphertext_name` (with ".c9r") must be stored as a .c9s node.
  bool NeedsShortening(std::string_view ciphertext_name) const {
    return static_cast<int>(ciphertext_name.size()) > threshold_;
  }
  // "<base64url(SHA-1(ciphertext_name))>.c9s".
  static std::string ShortenedName(std::string_view ciphertext_name);
  // The directory entry under which a node with this ciphertext name lives.
  std::string NodeName(std::string_view ciphertext_name) const {
    return NeedsShortening(ciphertext_name) ? ShortenedName(ciphertext_name)
                                            : std::string(ciphertext_name);
  }

  // "d/XX/YYYYYYYYYYYYYYYYYYYYYYYYYYYYYY" relative to the vault root.
  Result<std::string> ContentDirPath(std::string_view dir_id) const;
  // The SHA-1 that names a directory's content location: ContentDirPath is
  // ContentDirPathOfHash(DirectoryHash(id)). A file handle carries the hash
  // instead of the (longer) id and finds the directory from it alone.
  Result<Sha1Digest> DirectoryHash(std::string_view dir_id) const;
  static std::string ContentDirPathOfHash(const Sha1Digest& hash);

  int shortening_threshold() const { return threshold_; }

 private:
  AesSiv siv_;
  int threshold_;
};

}  // namespace vaultcore
