// ReadAhead: while a client takes in one READ's reply, an idle worker
// reads and decrypts the range that follows. A client that reads a file
// in order with one READ at a time (a copy through libnfs, a backup tool,
// a benchmark at one call in flight) then finds its next range decrypted
// instead of waiting for the pread and the AES-GCM of each of its chunks
// (bench/RESULTS.md, step 22). With more calls in flight the workers are
// busy and nothing is read ahead: a read-ahead starts only when
// WorkSharing::StartIfIdle finds no other call waiting or running.
//
// A file is read ahead once a READ continues the previous READ of it
// (Served), by as many bytes as that READ returned. What Take hands out is
// what a READ would have read, or nothing:
//   - the range is read through the write-back buffer, as a READ reads,
//     and is dropped if any content changed through the buffer since that
//     read began (WriteBackBuffer::content_changes);
//   - it is handed out only within `max_age` of its read, so that a change
//     made outside the server shows no later than the attribute cache
//     lets it (ExportOptions::attribute_cache_ttl); a max_age of 0 turns
//     reading ahead off;
//   - a read-ahead that failed (a chunk that fails authentication, an I/O
//     error) is dropped unreported: the READ reads for itself, and reports.
//
// Memory: at most kMaxStreams files are followed at once, the least
// recently read giving way. Each holds one buffer, of the size of its
// largest read-ahead (at most a READ's 1 MiB), reused by the next. A
// followed file is not kept open: a removed file's space is freed as
// Export::OpenFile promises.
//
// Thread-safe. The write-back buffer must outlive the ReadAhead. Every
// task handed to a WorkSharing must run, and the destructor waits for
// them (a thread pool runs what was posted to it before it joins).
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "server/write_back.h"
#include "vaultcore/encrypted_file.h"
#include "vaultcore/work_sharing.h"

namespace server {

class ReadAhead {
 public:
  static constexpr size_t kMaxStreams = 4;

  ReadAhead(WriteBackBuffer& write_back, std::chrono::milliseconds max_age);
  ~ReadAhead();
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // A buffer whose first `count` bytes are those at `offset` of `file`,
  // if they were read ahead and still hold, or null: the caller reads for
  // itself. Waits for a read-ahead of them that is under way (one not yet
  // started is cancelled). Nothing is read into the buffer again until
  // the caller lets go of it.
  std::shared_ptr<const uint8_t[]> Take(const std::shared_ptr<vaultcore::EncryptedFile>& file,
                                        uint64_t offset, size_t count);

  // Tells of a READ that returned `length` bytes at `offset` of `file`
  // without reaching its end. If it continued the previous READ of the
  // file, the next `length` bytes are read ahead on an idle helper of
  // `sharing` (none: nothing is read ahead).
  void Served(const std::shared_ptr<vaultcore::EncryptedFile>& file, uint64_t offset, size_t length,
              vaultcore::WorkSharing* sharing);

  // Bytes in read-ahead buffers.
  size_t held_bytes() const;

 private:
  enum class State {
    kIdle,     // nothing read ahead
    kQueued,   // a task for `ticket` is posted
    kReading,  // the task is filling the buffer
    kReady,    // the buffer holds `bytes` at `offset`
  };
  struct Stream {
    // Compared by owner, so that a new file at the address of a freed one
    // is not taken for it. Expired (or never set): the stream is free.
    std::weak_ptr<vaultcore::EncryptedFile> file;
    uint64_t next_offset = 0;  // where the file's last READ ended
    uint64_t last_used = 0;    // when, in Served calls
    State state = State::kIdle;
    uint64_t ticket = 0;  // the read-ahead a posted task may run
    uint64_t offset = 0;  // the range read ahead
    size_t length = 0;
    size_t bytes = 0;      // what its read returned
    uint64_t changes = 0;  // the buffer's content_changes when the read began
    std::chrono::steady_clock::time_point read_at;
    std::shared_ptr<uint8_t[]> buffer;  // shared with a Take's caller
    size_t capacity = 0;
  };

  Stream* FindLocked(const std::shared_ptr<vaultcore::EncryptedFile>& file);
  // A free stream, or the least recently read one that no task is
  // reading into (null if every stream is being read into).
  Stream* ClaimLocked();
  // The task: reads `stream`'s range ahead if it still asks for `ticket`.
  void Run(Stream& stream, uint64_t ticket);

  WriteBackBuffer& write_back_;
  const std::chrono::milliseconds max_age_;

  mutable std::mutex mutex_;          // guards everything below
  std::condition_variable finished_;  // a task ended
  std::array<Stream, kMaxStreams> streams_;
  uint64_t served_ = 0;       // Served calls so far
  uint64_t tickets_ = 0;      // read-aheads posted so far
  size_t tasks_in_pool_ = 0;  // posted and not yet returned
};

}  // namespace server
