// Vault: an unlocked Cryptomator vault (format 8) and the operations on its
// cleartext tree. It maps every operation onto the ciphertext directory in
// the order Cryptomator itself uses (spec §9), so that a crash at any step
// leaves a vault Cryptomator opens.
//
// Thread-safety: all methods may be called from many threads at once.
// Lookups and listings run in parallel; tree mutations (create, mkdir,
// symlink, remove, rename) are serialised per vault; file content goes
// through EncryptedFile objects that Vault shares per ciphertext file.
//
// Identities for an NFS server (see shared/design.md):
//   - a directory is named by its directory id, which never changes, and its
//     `fileid` is the inode of its content directory;
//   - a file or symlink keeps the inode of its ciphertext object (X.c9r,
//     contents.c9r, symlink.c9r) and its header nonce across renames; its
//     `fileid` is that inode.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "vaultcore/attribute_cache.h"
#include "vaultcore/content_cryptor.h"
#include "vaultcore/encrypted_file.h"
#include "vaultcore/masterkey.h"
#include "vaultcore/name_cipher.h"
#include "vaultcore/name_encryption_cache.h"
#include "vaultcore/status.h"
#include "vaultcore/vault_config.h"

namespace vaultcore {

// A directory of the cleartext tree: its id and its content directory.
struct DirRef {
  std::string id;            // "" for the root
  std::string content_path;  // absolute path of d/XX/YYYY…
};

// One node as found in its parent directory.
struct Entry {
  std::string name;       // cleartext, exactly as decrypted
  std::string parent_id;  // directory id of the parent
  std::string node_path;  // absolute: <parent content dir>/<X.c9r | H.c9s>
  std::string dir_id;     // directories only
  bool shortened = false;
  Attributes attr;

  NodeKind kind() const { return attr.kind; }
  // Where the content lives. File: X.c9r (the node path itself) or
  // contents.c9r; symlink: symlink.c9r; directory: its content directory.
  const std::string& data_path() const { return data_path_.empty() ? node_path : data_path_; }
  // "" stands for the node path, without copying it.
  void set_data_path(std::string path) {
    data_path_ = path == node_path ? std::string() : std::move(path);
  }
  DirRef AsDir() const { return {dir_id, data_path()}; }

 private:
  // Empty when it is the node path, as for most files: a listing of
  // 100,000 files holds each path once, not twice (11 MB less).
  std::string data_path_;
};

struct CreateOptions {
  int shortening_threshold = 220;
  CipherCombo cipher_combo = CipherCombo::kSivGcm;
  ScryptParams scrypt;
};

struct OpenOptions {
  bool read_only = false;
};

class Vault {
 public:
  // Creates a new, empty vault in `path` (which may exist but must be
  // empty): masterkey file, config, root directory.
  static Status Create(const std::string& path, std::string_view password,
                       const CreateOptions& options = {});

  // Unlocks the vault in `path`. Errc::kWrongPassword, kNotAVault and
  // kUnsupported carry a message a user can act on.
  static Result<std::unique_ptr<Vault>> Open(const std::string& path, std::string_view password,
                                             const OpenOptions& options = {});

  // Re-wraps the master keys under a new password. The old file is kept as
  // masterkey.cryptomator.<sha256 prefix>.bkup, as Cryptomator does.
  static Status ChangePassword(const std::string& path, std::string_view old_password,
                               std::string_view new_password);

  ~Vault();
  Vault(const Vault&) = delete;
  Vault& operator=(const Vault&) = delete;

  const std::string& path() const { return path_; }
  const VaultConfig& config() const { return config_; }
  bool read_only() const { return read_only_; }
  const MasterKey& master_key() const { return key_; }
  const ContentCryptor& cryptor() const { return *cryptor_; }
  const NameCipher& names() const { return names_; }

  DirRef Root() const { return root_; }
  Result<Entry> RootEntry() const;
  // The directory with id `dir_id`; Errc::kNotFound if its content
  // directory does not exist (deleted).
  Result<DirRef> Directory(std::string_view dir_id) const;

  // The node called `name` in `dir`: the exact bytes first, then the NFC
  // form. Errc::kNotFound if neither exists.
  Result<Entry> Lookup(const DirRef& dir, std::string_view name) const;
  // Every node of `dir`, names as decrypted. Entries that are not nodes of
  // this directory (foreign files, sync-conflict copies, broken nodes) are
  // skipped.
  Result<std::vector<Entry>> List(const DirRef& dir) const;
  // The same nodes one at a time, for callers that keep less of each than
  // an Entry: `reserve` first hears how many names the directory holds (no
  // fewer than the nodes to come), then `visit` gets each node.
  Status ListEach(const DirRef& dir, const std::function<void(size_t)>& reserve,
                  const std::function<void(Entry&&)>& visit) const;
  // The entry of the file or symlink node at `node_path`, known by place
  // alone: its data path as LoadNode would find it, its attributes unread
  // but for its kind. For callers that remember nodes compactly.
  static Entry NodeEntry(std::string name, std::string parent_id, std::string node_path,
                         NodeKind kind, bool shortened);
  // Re-reads the attributes of `entry` (and nothing else). With the
  // attribute cache on, Refresh may take them from it (only for the same
  // object: the entry's fileid, when it has one); RefreshFromDisk never
  // does, for callers about to touch the object's data. What the disk
  // says is gone is gone from the cache too: once any call has seen a
  // removal made behind our back, no later one answers from the cache.
  Status Refresh(Entry& entry) const;
  Status RefreshFromDisk(Entry& entry) const;
  // Turns the attribute cache on (see attribute_cache.h for what a TTL
  // means); off (0) by default.
  void SetAttributeCacheTtl(std::chrono::nanoseconds ttl) { attributes_.set_ttl(ttl); }
  // For callers keeping attributes of their own (a server's cached
  // listings): whether what they read is still as good as the cache.
  const AttributeCache& attributes() const { return attributes_; }

  // The parent of `dir`; the root is its own parent. Learned from lookups
  // and listings; after a restart it may walk the tree once.
  Result<DirRef> Parent(const DirRef& dir) const;

  // Path helpers for tools: "/a/b" or "a/b"; "" and "/" are the root.
  Result<Entry> ResolvePath(std::string_view path) const;
  // The directory that would hold `path` and the last component's name.
  Result<std::pair<DirRef, std::string>> ResolveParent(std::string_view path) const;

  // Tree mutations. New names are stored in NFC (spec §5.3).
  // CreateFile with `exclusive` false returns an existing file unchanged
  // (an existing directory is kIsDirectory, a symlink kExists). With
  // `opened`, a file it creates is also handed back open, as OpenFile
  // would share it: its first write needs no open and no header read.
  Result<Entry> CreateFile(const DirRef& dir, std::string_view name, uint32_t mode,
                           bool exclusive = true, std::shared_ptr<EncryptedFile>* opened = nullptr);
  Result<Entry> MakeDirectory(const DirRef& dir, std::string_view name, uint32_t mode);
  Result<Entry> MakeSymlink(const DirRef& dir, std::string_view name, std::string_view target);
  Result<std::string> ReadLink(const Entry& entry) const;
  // Removes a file or symlink; Errc::kIsDirectory for a directory.
  Status Remove(const DirRef& dir, std::string_view name);
  // Removes an empty directory; Errc::kNotEmpty otherwise.
  Status RemoveDirectory(const DirRef& dir, std::string_view name);
  // POSIX rename(2) semantics: replaces a target file or empty directory of
  // a compatible kind; moving a directory into itself is kInvalidArgument.
  Status Rename(const DirRef& from, std::string_view from_name, const DirRef& to,
                std::string_view to_name);

  // Attribute changes on the ciphertext object.
  Status SetMode(const Entry& entry, uint32_t mode);
  // nullopt leaves a time unchanged.
  Status SetTimes(const Entry& entry, std::optional<timespec> atime, std::optional<timespec> mtime);

  // The content of a file, shared with every other user of the same file in
  // this process. Read-only vaults open read-only.
  Result<std::shared_ptr<EncryptedFile>> OpenFile(const Entry& entry);
  // The file's shared EncryptedFile if some user holds it open now, else
  // null; never opens one (a server asks this on every GETATTR).
  std::shared_ptr<EncryptedFile> FindOpenFile(const Entry& entry);

 private:
  Vault(std::string path, VaultConfig config, MasterKey key, bool read_only);

  Status CheckWritable() const;
  Result<Entry> LookupExact(const DirRef& dir, std::string_view name) const;
  // Builds the entry for node `node_name` of `dir` (cleartext `name`).
  Result<Entry> LoadNode(const DirRef& dir, const std::string& node_name, std::string name,
                         bool shortened) const;
  Status StatInto(const std::string& path, NodeKind kind, Attributes& attr) const;
  // The attributes `st` describes, of a node of `kind`.
  void AttributesFrom(const struct stat& st, NodeKind kind, Attributes& attr) const;
  Result<std::string> DecryptNodeName(const DirRef& dir, const std::string& entry_name) const;
  // names_.EncryptName, through encrypted_names_.
  Result<std::string> EncryptName(std::string_view cleartext_name,
                                  std::string_view parent_dir_id) const;
  Status RemoveDirectoryLocked(const Entry& entry);
  Status RemoveNodeLocked(const Entry& entry);
  // Writes name.c9s for `ciphertext_name` into `node_dir` via a temporary
  // file, so a reader sees the old or the new name, never a partial one.
  Status WriteLongName(const std::string& node_dir, std::string_view ciphertext_name) const;
  void RememberParent(const std::string& dir_id, const std::string& parent_id) const;
  bool IsSameOrAncestor(const std::string& ancestor_id, const std::string& dir_id) const;
  Status IndexAllDirectories() const;

  const std::string path_;
  const VaultConfig config_;
  const MasterKey key_;
  const bool read_only_;
  const std::unique_ptr<ContentCryptor> cryptor_;
  const NameCipher names_;
  DirRef root_;

  std::mutex tree_mutex_;  // serialises tree mutations

  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::string> content_path_cache_;  // id -> path
  mutable std::unordered_map<std::string, std::string> parent_of_;           // id -> parent id

  mutable AttributeCache attributes_;  // every change through this Vault notes one
  // About 10,000 names of 20 characters; none while idle.
  mutable NameEncryptionCache encrypted_names_{2 << 20};

  std::mutex files_mutex_;
  struct FileKey {  // what identifies a ciphertext file
    uint64_t device;
    uint64_t inode;
    bool operator==(const FileKey&) const = default;
  };
  struct FileKeyHash {
    size_t operator()(const FileKey& k) const { return k.inode * 0x9e3779b97f4a7c15ULL ^ k.device; }
  };
  std::unordered_map<FileKey, std::weak_ptr<EncryptedFile>, FileKeyHash> open_files_;
  // Makes `file` the one OpenFile shares for `key`; files_mutex_ held.
  std::shared_ptr<EncryptedFile> ShareLocked(const FileKey& key,
                                             std::unique_ptr<EncryptedFile> file);
};

// "d/XX/…" paths and node names are ASCII; cleartext names must be valid
// path components: non-empty, no '/', no NUL, not "." or "..".
Status ValidateName(std::string_view name);

}  // namespace vaultcore
