// The per-file state of WriteBackBuffer, shared by its two source files:
// write_back.cc (the buffer) and write_back_landing.cc (whole-chunk writes
// that go past it). Internal: nothing outside WriteBackBuffer includes it.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "server/write_back.h"
#include "vaultcore/content_cryptor.h"
#include "vaultcore/encrypted_file.h"
#include "vaultcore/status.h"

namespace server::write_back_internal {

constexpr uint64_t kChunk = vaultcore::kCleartextChunkSize;

// Byte ranges [first, second) within one chunk, sorted and disjoint.
using Ranges = std::vector<std::pair<size_t, size_t>>;

// Whether any of `ranges` (pairs, or map entries, [first, second))
// overlaps [from, to).
template <typename RangeList>
bool OverlapsAny(const RangeList& ranges, uint64_t from, uint64_t to) {
  return std::any_of(ranges.begin(), ranges.end(),
                     [&](const auto& range) { return range.first < to && range.second > from; });
}

// The end of the last of `writes` (offset -> end), which never overlap, so
// the last begun is the last to end; 0 if there are none.
inline uint64_t EndOf(const std::map<uint64_t, uint64_t>& writes) {
  return writes.empty() ? 0 : writes.rbegin()->second;
}

}  // namespace server::write_back_internal

namespace server {

struct WriteBackBuffer::FileState : std::enable_shared_from_this<FileState> {
  explicit FileState(std::shared_ptr<vaultcore::EncryptedFile> f) : file(std::move(f)) {}

  // Held while the file has anything buffered, unsynced or unreported, so
  // the object (and its descriptor) cannot go away with data pending.
  const std::shared_ptr<vaultcore::EncryptedFile> file;

  // The file's lock. Guards the two fields below.
  std::mutex mutex;
  // Chunk index -> the chunk's complete content, whose length is
  // min(kChunk, logical size - chunk start): every buffered chunk but the
  // one holding end of file is full, so writing them in ascending order
  // never makes EncryptedFile read a chunk back.
  std::map<uint64_t, std::vector<uint8_t>> chunks;
  // Buffered chunks whose old content failed authentication -> their
  // bytes that came from it and that no write has replaced (see the top
  // of write_back.h). Never empty ranges.
  std::map<uint64_t, write_back_internal::Ranges> unreadable;
  // The first flush error not yet reported by Commit.
  vaultcore::Status error;
  // Whole-chunk writes being encrypted without the lock (see Write): their
  // offset -> end, until they land or fall back to the buffer. `landed` is
  // notified as each leaves, and as each acknowledged write is done.
  std::map<uint64_t, uint64_t> landing;
  std::condition_variable landed;
  // Writes answered before they were written (Write's `later`): their
  // offset -> end, until they are in the file (or failed). No other write
  // overlaps them meanwhile.
  std::map<uint64_t, uint64_t> acknowledged;

  // Guarded by WriteBackBuffer::mutex_. `registered` is only cleared with
  // the file's lock also held, so it is stable for a holder of either.
  bool registered = true;
  bool flushing = false;  // claimed by a pressure or idle flush
  size_t bytes = 0;       // this file's share of buffered_
  // Of `bytes`, those in chunks with unreadable bytes. Changed with the
  // file's lock held too, so a holder of either lock may read it.
  size_t stuck_bytes = 0;
  // Bumped by each write to disk; equal to synced_gen once fsynced.
  uint64_t written_gen = 0;
  uint64_t synced_gen = 0;
  std::chrono::steady_clock::time_point last_write;
  bool in_lru = false;
  std::list<StatePtr>::iterator lru_pos;
};

// What a write will do, worked out before anything changes so that a
// failed read or a full budget leaves the buffer as it was.
struct WriteBackBuffer::WritePlan {
  uint64_t disk_size = 0;  // the file's size on disk
  uint64_t old_end = 0;    // logical size before the write
  uint64_t new_end = 0;    // and after it
  size_t growth = 0;       // buffered bytes it adds
  // Touched chunks that are not buffered and not wholly overwritten (so at
  // most the first and the last), read from disk, in index order.
  struct Loaded {
    uint64_t index;
    std::vector<uint8_t> content;
    size_t unreadable;  // its first bytes the disk held but failed authentication; 0 if none
  };
  std::vector<Loaded> loaded;
};

}  // namespace server
