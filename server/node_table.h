// NodeTable turns file handles into vault entries and back, and caches
// directory listings for READDIR. It holds no state a handle depends on:
// everything it remembers is a cache that a restart empties and that is
// refilled from the ciphertext tree (design.md, "Handles must").
//
// Resolving a handle:
//   - a directory handle names its content directory by hash; the id is
//     learned from handles made earlier, else read from the directory's own
//     dirid.c9r backup, else found by walking the tree;
//   - a file or symlink handle names its ciphertext inode. The table
//     remembers where each inode was last seen; after a restart or a rename
//     it lists the hinted parent directory, and as a last resort walks the
//     tree. The header-nonce prefix in the handle rejects a reused inode.
// Errors: Errc::kInvalidArgument for a handle this vault did not make
// (NFS3ERR_BADHANDLE), Errc::kNotFound for an object that no longer exists
// (NFS3ERR_STALE), anything else as it came.
//
// Listings are validated against the content directory's stat on every
// use, so a change a sync client makes shows up at the next READDIR; a
// listing taken too close to a directory change to be trusted (the
// "racy" window of coarse file-system timestamps) is taken again. A
// listing's attributes are read again once the attribute cache would no
// longer trust them.
//
// Thread-safe. The Vault must outlive the table.
#pragma once

#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "server/file_handle.h"
#include "vaultcore/status.h"
#include "vaultcore/vault.h"

namespace server {

// One node of a listing: what a READDIR page needs, without what every
// node of the directory shares (its id and content path), which the
// Listing holds once. About 240 bytes a node, against 420 for an Entry.
struct ListedNode {
  std::string name;       // cleartext, exactly as decrypted
  std::string node_name;  // X.c9r or H.c9s, in the directory's content directory
  // A subdirectory's id and content directory; null for files and symlinks.
  std::shared_ptr<const vaultcore::DirRef> subdirectory;
  bool shortened = false;
  vaultcore::Attributes attr;

  vaultcore::NodeKind kind() const { return attr.kind; }
};

// One directory's nodes in a stable order (by ciphertext node name), and
// the verifier that changes whenever the set of names or objects changes.
// The nodes' attributes were read from disk at `attributes_read`: while
// the vault's attribute cache says that stamp is fresh, they are as good
// as what the cache holds.
struct Listing {
  vaultcore::DirRef dir;
  uint64_t verifier = 0;
  vaultcore::AttributeCache::Stamp attributes_read;
  std::vector<ListedNode> nodes;

  // The whole entry of `node`, written over `entry`. Its strings keep their
  // capacity, so a page that fills one Entry node after node allocates
  // nothing for most of them.
  void Fill(const ListedNode& node, vaultcore::Entry& entry) const;
  vaultcore::Entry EntryOf(const ListedNode& node) const;
};

class NodeTable {
 public:
  // Where files were seen is a cache: past this many files it starts
  // again. Each costs about 220 bytes (measured: 324,259 files created at
  // 32 in flight on tmpfs took the server from 10.2 to 79.5 MiB of RSS), so
  // the bound is about 230 MiB; below a vault's working set, a file the
  // table forgot is found again by listing its directory.
  static constexpr size_t kDefaultMaxRememberedFiles = 1 << 20;
  // Directory ids by hash (and back) are a cache too: past this many
  // directories it starts again, and a directory handle whose id it forgot
  // is resolved through the directory's own dirid.c9r.
  static constexpr size_t kDefaultMaxRememberedDirectories = 1 << 16;

  explicit NodeTable(vaultcore::Vault& vault,
                     size_t max_remembered_files = kDefaultMaxRememberedFiles,
                     size_t max_remembered_directories = kDefaultMaxRememberedDirectories);
  NodeTable(const NodeTable&) = delete;
  NodeTable& operator=(const NodeTable&) = delete;

  vaultcore::Vault& vault() { return vault_; }
  const HandleCodec& codec() const { return codec_; }

  FileHandle RootHandle() const { return root_handle_; }
  // How many directories' ids the table holds now (for tests).
  size_t RememberedDirectories();
  // A handle for `entry`, remembering where the entry lives. `listed` is
  // the node of a cached listing that `entry` was filled from, if it was:
  // READDIRPLUS then finds the handle made before by the node's address.
  vaultcore::Result<FileHandle> HandleFor(const vaultcore::Entry& entry,
                                          const ListedNode* listed = nullptr);
  // For each of `nodes` (of a cached listing), the handle HandleFor made
  // before for it, if the file is still the one listed (same ctime);
  // nothing otherwise, and for directories, whose handles are not kept.
  // `handles` has a slot for each node. One lock for them all: a
  // READDIRPLUS page asks for hundreds, and locking for each cost more
  // than the lookups (8 % of the server's samples for a listing).
  void ListedHandles(std::span<const ListedNode> nodes,
                     std::span<std::optional<FileHandle>> handles);

  // The entry a handle names, with its attributes read from disk or, with
  // `from_cache`, possibly from the vault's attribute cache (only for
  // procedures that just report them: a READ or WRITE must find out at
  // once that its file was removed or replaced). A directory's entry
  // carries its id and content path (name and node path are unknown).
  vaultcore::Result<vaultcore::Entry> Resolve(std::span<const uint8_t> handle,
                                              bool from_cache = false);

  // The parent of directory `dir`, with fresh attributes; the root is its
  // own parent.
  vaultcore::Result<vaultcore::Entry> Parent(const vaultcore::Entry& dir);

  // The listing of a directory; cached, validated against the ciphertext.
  vaultcore::Result<std::shared_ptr<const Listing>> List(const vaultcore::Entry& dir);

  // After a change this server made in a directory: the cached listing is
  // not used again, whatever the time stamps say.
  void DirectoryChanged(const std::string& dir_id);
  // After this server removed a file or symlink: its handles answer STALE
  // at once, without searching the tree for it. Then calls the removal
  // listener, if any.
  void Removed(const vaultcore::Entry& entry);
  // Told of every Removed() entry (outside the table's lock), so whoever
  // holds the file open can let it go. Set it before the table is shared
  // between threads.
  void SetRemovalListener(std::function<void(const vaultcore::Entry&)> listener) {
    removal_listener_ = std::move(listener);
  }
  // After this server moved an entry: remember where it is now.
  void Moved(const vaultcore::Entry& entry) { Remember(entry, /*moved=*/true); }

 private:
  // A file's node name and cleartext name, its kind and whether its name
  // is shortened, in one allocation of 6 bytes more than the two names
  // (two strings in a block of their own took about 160 bytes).
  class NodeNames {
   public:
    NodeNames(std::string_view node_name, std::string_view name, vaultcore::NodeKind kind,
              bool shortened);
    std::string_view node_name() const;  // in the parent's content directory
    std::string_view name() const;
    vaultcore::NodeKind kind() const { return static_cast<vaultcore::NodeKind>(header().kind); }
    bool shortened() const { return header().shortened; }

   private:
    // Six bytes: a node name is at most NAME_MAX, and a cleartext name at
    // most the vault's 10 KiB.
    struct Header {
      uint16_t node_name_size;
      uint16_t name_size;
      uint8_t kind;  // a vaultcore::NodeKind
      bool shortened;
    };
    Header header() const;

    std::unique_ptr<char[]> bytes_;  // the Header, the node name, the name
  };
  // Where a file was seen outside a cached listing, its directory shared
  // with the other files seen there: a directory of 100,000 files made
  // before it was ever listed is held in these and again in its first
  // listing.
  struct Place {
    std::shared_ptr<const vaultcore::DirRef> parent;
    NodeNames names;
  };
  // A node of a cached listing, which it keeps alive.
  struct Listed {
    std::shared_ptr<const Listing> listing;
    const ListedNode* node = nullptr;

    explicit operator bool() const { return node != nullptr; }
  };
  // What the table remembers of a file, with its place: about 220 bytes
  // of RSS (see kDefaultMaxRememberedFiles).
  struct FileLocation {
    // The node in its directory's cached listing while there is one (the
    // directory is then held once); else where it was seen. Only a
    // location being made holds neither.
    std::variant<std::monostate, Listed, Place> where;
    timespec ctime{};                // when `nonce` was read
    std::array<uint8_t, 8> nonce{};  // all zero: not read yet
    // The handle given out for this file. Every later handle carries its
    // parent hint: a file moved to another directory keeps getting the same
    // handle bytes, by which clients (Linux's nfs_same_file) tell files
    // apart. While its nonce is `nonce` and `ctime` holds, it is the handle
    // to give out as it is: READDIRPLUS asks for every entry's handle on
    // every page, and making one costs an HMAC.
    std::optional<FileHandle> issued;

    const ListedNode* listed_node() const;
    // The issued handle, if it can be given out again as it is.
    const FileHandle* reusable_handle() const;
  };
  struct CachedListing {
    std::shared_ptr<const Listing> listing;
    struct stat validated {};
    std::list<std::string>::iterator lru;
  };

  vaultcore::Result<vaultcore::Entry> ResolveDirectory(const HandleFields& fields, bool from_cache);
  vaultcore::Result<vaultcore::Entry> ResolveFile(const HandleFields& fields, bool from_cache);
  vaultcore::Result<std::string> DirectoryIdOf(const vaultcore::Sha1Digest& hash);
  // The absolute path of the content directory a directory hash names.
  std::string ContentPathOf(const vaultcore::Sha1Digest& hash) const;
  // Remembers where a listed (or, `moved`, just renamed) child is; a
  // directory by its id.
  void Remember(const vaultcore::Entry& entry, bool moved);
  // Remember for a file, with mutex_ held; `listed`, if set, is `entry`
  // itself, in its directory's cached listing.
  void RememberLocked(const vaultcore::Entry& entry, bool moved, Listed listed);
  // Remembers every child of directory `dir_id` in `listing`, pointing into
  // the listing if it is the cached one.
  void RememberListed(const std::shared_ptr<const Listing>& listing, const std::string& dir_id);
  // `listing` leaves the cache: the locations still pointing into it keep
  // just their place, so that no listing outlives its slot in the cache.
  // Needs mutex_.
  void DetachLocked(const Listing& listing);
  void ForgetListingLocked(std::unordered_map<std::string, CachedListing>::iterator it);
  // The entry of a directory as List and Resolve use it (no name).
  static vaultcore::Entry DirectoryEntry(const vaultcore::DirRef& dir);
  // Lists every directory of the vault (through the listing cache),
  // remembering everything (at most once per kWalkInterval: a stale handle
  // must not cost a walk each time), and shows each listing to `visit`.
  void WalkTree(const std::function<void(const std::shared_ptr<const Listing>&)>& visit = {});
  // The file `fields` names, if `listing` holds it and it checks out (see
  // CheckFileAt). It is taken from the listing, never from files_: another
  // thread remembering a large listing can make the table start again
  // between remembering the file and looking it up.
  std::optional<vaultcore::Result<vaultcore::Entry>> ResolveFileIn(
      const std::shared_ptr<const Listing>& listing, const HandleFields& fields, bool from_cache);
  // `entry`, where the file `fields` names was seen (its nonce read at
  // `ctime`, if known), checked against the disk (from the attribute cache
  // if `from_cache`) and its header's nonce; nullopt if the file is no
  // longer there.
  std::optional<vaultcore::Result<vaultcore::Entry>> CheckFileAt(
      vaultcore::Entry entry, const timespec& ctime, const std::array<uint8_t, 8>& nonce,
      const HandleFields& fields, bool from_cache);
  void RememberFile(const vaultcore::Entry& entry, const std::array<uint8_t, 8>& nonce);
  void RememberFileLocked(const vaultcore::Entry& entry, const std::array<uint8_t, 8>& nonce,
                          Listed listed);
  // The directory `id` as places share it (through parents_). Needs mutex_.
  std::shared_ptr<const vaultcore::DirRef> ParentLocked(const std::string& id,
                                                        std::string_view content_path);
  // The place of `entry`, its parent shared. Needs mutex_.
  Place PlaceOfLocked(const vaultcore::Entry& entry);
  static bool SamePlace(const FileLocation& location, const vaultcore::Entry& entry);
  // The entry of the file with inode `inode` remembered at `location`
  // (attributes unread if only its place is known).
  static vaultcore::Entry EntryAt(uint64_t inode, const FileLocation& location);
  // The hint to put in the file's handles: the one given out before, else
  // `current`.
  vaultcore::Sha1Digest IssuedHint(uint64_t inode, const vaultcore::Sha1Digest& current);
  // After a client presented `handle` for file `inode`: if the table has
  // given out no handle for it yet (since a restart), it gives out the same
  // bytes from now on.
  void KeepIssued(uint64_t inode, const FileHandle& handle);
  void RememberDirectory(const std::string& dir_id);
  // The hash naming a directory's content directory; remembers both ways.
  vaultcore::Result<vaultcore::Sha1Digest> HashOf(const std::string& dir_id);
  vaultcore::Result<std::array<uint8_t, 8>> NoncePrefix(const std::string& data_path) const;
  // The nonce prefix of `entry`'s header, from memory if the file is open.
  vaultcore::Result<std::array<uint8_t, 8>> NoncePrefixOf(const vaultcore::Entry& entry) const;
  // Whether a cached listing, its names still current, should have its
  // attributes read again before it is used (see kMaxRereadEntries).
  bool AttributesToReread(const Listing& listing) const;
  // `old` with its entries' attributes read from disk again: only those of
  // the files written since, if the attribute cache can tell which, else
  // all of them. Null if an entry read is gone or replaced (then the
  // directory must be listed again).
  std::shared_ptr<const Listing> RereadAttributes(const Listing& old);

  vaultcore::Vault& vault_;
  const HandleCodec codec_;
  const size_t max_remembered_files_;
  const size_t max_remembered_directories_;
  std::function<void(const vaultcore::Entry&)> removal_listener_;
  FileHandle root_handle_;
  vaultcore::Sha1Digest root_hash_{};

  std::mutex mutex_;                                               // guards everything below
  std::unordered_map<std::string, std::string> dir_ids_;           // hash bytes -> dir id
  std::unordered_map<std::string, vaultcore::Sha1Digest> hashes_;  // dir id -> hash
  // The parents of the places in files_, by dir id.
  std::unordered_map<std::string, std::shared_ptr<const vaultcore::DirRef>> parents_;
  std::unordered_map<uint64_t, FileLocation> files_;  // inode -> last seen
  std::unordered_set<uint64_t> removed_;              // inodes removed here
  std::unordered_map<std::string, CachedListing> listings_;
  std::list<std::string> listing_lru_;  // most recent first
  std::chrono::steady_clock::time_point last_walk_{};
};

}  // namespace server
