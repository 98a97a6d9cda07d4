// AttributeCache: the attributes a Vault read recently, so that a server
// answering GETATTR, LOOKUP and READDIRPLUS from many clients does not stat
// the same ciphertext objects again and again.
//
// What is cached stays valid for the TTL *and* only while nothing changed
// through this process. A write or truncate of one of a Vault's
// EncryptedFiles changes that file alone, and drops just what is cached of
// it; every other change a Vault makes drops everything. So a change made
// here shows at once; a change made by someone else (a sync client,
// another program) shows once the TTL has passed — as it does in an NFS
// client's own attribute cache. TTL 0 (the default) turns the cache off.
//
// Thread-safe. Bounded: it holds at most kMaxEntries paths.
#pragma once

#include <sys/types.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace vaultcore {

enum class NodeKind { kFile, kDirectory, kSymlink };

// Attributes of a node, taken from its ciphertext object.
struct Attributes {
  NodeKind kind = NodeKind::kFile;
  uint64_t size = 0;        // cleartext bytes (0 for an impossible ciphertext size)
  uint64_t disk_usage = 0;  // bytes the ciphertext occupies
  uint64_t fileid = 0;      // inode of the ciphertext object
  uint64_t device = 0;
  uint32_t mode = 0;  // permission bits only
  uint32_t nlink = 1;
  uint32_t uid = 0;
  uint32_t gid = 0;
  timespec atime{};
  timespec mtime{};
  timespec ctime{};
};

class AttributeCache {
 public:
  // About 250 bytes each. Enough for any hot set; a pass over a larger
  // directory gains nothing from more within one TTL (bench/RESULTS.md:
  // 65,536 held 10 MiB more at the peak of the 100,000-entry listing).
  static constexpr size_t kMaxEntries = 1 << 14;
  // File changes remembered for CatchUp: more since a stamp, and its
  // holder reads everything again.
  static constexpr size_t kRememberedFileChanges = 256;

  void set_ttl(std::chrono::nanoseconds ttl) { ttl_ns_.store(ttl.count()); }
  bool enabled() const { return ttl_ns_.load(std::memory_order_relaxed) > 0; }

  // Read this before reading the disk, and hand it to Put with what was
  // read: a change in between makes Put a no-op.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  // After every change through this process (made, not merely begun) that
  // is not NoteFileChange's: drops everything.
  void NoteChange();
  // After a change to the content of one file alone, the ciphertext object
  // with inode `fileid` (a write, a truncate): its size, times and disk
  // usage moved, nothing else did. Drops what is cached of it.
  void NoteFileChange(uint64_t fileid);

  // Attributes of `path` read within the TTL and not dropped since,
  // if they are of this kind and (unless `fileid` is 0) of this object: a
  // file replaced under the same name by someone else is another object.
  std::optional<Attributes> Get(const std::string& path, NodeKind kind, uint64_t fileid = 0) const;
  void Put(const std::string& path, uint64_t generation, const Attributes& attr);
  // Drops what is cached for `path`: the disk has just said it is gone.
  void Forget(const std::string& path);

  // When some attributes were read from disk (take it before reading).
  // While IsFresh says so, they are as trustworthy as cached ones: the
  // TTL has not passed, nothing changed through this process, and no call
  // has found a cached path gone since.
  struct Stamp {
    uint64_t generation = 0;
    uint64_t forgotten = 0;
    std::chrono::steady_clock::time_point taken{};
  };
  Stamp Now() const;
  bool IsFresh(const Stamp& stamp) const;
  // For attributes read at `stamp` that are no longer fresh because files
  // changed (NoteFileChange) and nothing else did: appends the fileids of
  // those files to `changed` (in any order, maybe repeated) and returns
  // the stamp the attributes hold once those are read again (taken as long
  // ago as `stamp`). nullopt if anything else changed, if the TTL passed,
  // or if too many files changed to tell.
  std::optional<Stamp> CatchUp(const Stamp& stamp, std::vector<uint64_t>* changed) const;

  // Notes a change in `cache` (if any) when it goes out of scope, however
  // the change ended: a change of file `fileid` alone unless that is 0.
  class ChangeScope {
   public:
    explicit ChangeScope(AttributeCache* cache, uint64_t fileid = 0)
        : cache_(cache), fileid_(fileid) {}
    ~ChangeScope() {
      if (cache_ == nullptr) return;
      if (fileid_ != 0) {
        cache_->NoteFileChange(fileid_);
      } else {
        cache_->NoteChange();
      }
    }
    ChangeScope(const ChangeScope&) = delete;
    ChangeScope& operator=(const ChangeScope&) = delete;

   private:
    AttributeCache* cache_;
    uint64_t fileid_;
  };

 private:
  using Clock = std::chrono::steady_clock;
  struct Cached {
    Attributes attr;
    Clock::time_point read_at;
  };

  using Entries = std::unordered_map<std::string, Cached>;
  void EraseLocked(Entries::iterator it);

  std::atomic<int64_t> ttl_ns_{0};
  // Changes so far, of both kinds; moves only under mutex_, so that Put,
  // which checks it under mutex_, never keeps what a change made stale.
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> forgotten_{0};  // Forget() calls so far
  mutable std::mutex mutex_;
  // Under mutex_:
  bool entries_dropped_ = false;  // by NoteChange; emptied by the next Put
  uint64_t last_change_ = 0;      // the generation NoteChange made last
  Entries entries_;
  // The key in entries_ of each fileid cached (but 0, no file's): at most
  // one path per file, so that NoteFileChange finds a renamed file's only
  // entry.
  std::unordered_map<uint64_t, const std::string*> path_of_;
  // fileid of the file change that made generation g, at g % size.
  std::array<uint64_t, kRememberedFileChanges> file_changes_{};
};

}  // namespace vaultcore
