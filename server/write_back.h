// The write-back buffer behind NFSv3 UNSTABLE writes (RFC 1813 §3.3.7):
// the server may acknowledge such a write before the data is on stable
// storage, as long as a later COMMIT reports whether it got there. Writing
// each small WRITE straight into an EncryptedFile would re-encrypt (and
// read back) the 32 KiB chunk it lands in every time; buffering lets the
// flush write whole chunks once.
//
// Dirty data is held as whole cleartext chunks: chunk i holds the complete
// content of [i * 32 KiB, i * 32 KiB + its length), loaded from disk on the
// first partial write to it (zeros past end of file). Writing a chunk out
// therefore never needs the bytes on disk, and a flush writes chunk-aligned
// ranges in ascending order with no read-modify-write.
//
// Data leaves the buffer, with EncryptedFile::Write, when
//   - COMMIT (Commit), a stable WRITE (WriteStable), a size change
//     (Truncate) or shutdown (FlushAll) asks for it;
//   - the buffer is over Options::max_bytes: the least recently written
//     files are written out (no fsync) until the new data fits;
//   - a file has not been written for Options::idle_flush: a background
//     thread writes it out and fsyncs it, so a file at rest becomes durable
//     even if the client never commits.
// A write of whole chunks that no buffered chunk overlaps, starting within
// the file on disk, is never buffered: it is encrypted and written to the
// file at once (the kernel's page cache holds it until COMMIT's fsync).
// Buffering it could not save any encryption, and would cost two copies.
// When it extends the file (starts at or past its end on disk), its
// encryption runs without the file's lock (EncryptedFile::Seal), so that
// the many WRITEs a client streams into one file at once are encrypted in
// parallel. Such a write may also start past the end of file on disk, by
// up to 16 MiB (kSealAhead): with many WRITEs in flight, the one that fills
// the gap is usually being taken up by another thread at that moment. It
// lands after the writes below it (buffered chunks written out first) if
// by then they fill the gap; if they do not, or one of them fails, or the
// file changes meanwhile, it is written the ordinary way instead, its
// encryption wasted. The file never holds a gap. An overwrite within the
// file is encrypted under the lock: sealing those too made the Linux
// client's random-write runs bimodal (bench/RESULTS.md, step 20).
// A caller that can run work after its reply (an UNSTABLE WRITE on a
// worker) may have a whole-chunk write, sealed or an overwrite, answered
// before it is encrypted: Write registers it and hands back the rest as
// work to run next. A client with one WRITE in flight then sends the next
// while this one is encrypted (bench/RESULTS.md, step 43). Until that work
// is done, the write counts in the file's size, and everything else that
// touches the file's content (a read, a commit, a truncation, a write
// that is not sealed beside it) waits for it. If it fails, the failure is
// a failed flush, as below.
// A flush that fails drops the file's buffered data (keeping it would pin
// the budget and show readers bytes that may never reach the disk) and the
// error becomes sticky: the next Commit of that file reports it, so the
// client learns of the loss. Background and pressure failures are also
// logged, since nobody may ask until then.
//
// A chunk whose old content fails authentication (a crash tore it while
// it was written, or it was damaged) can still take a partial write: it is
// buffered with its old bytes marked unreadable, and becomes an ordinary
// buffered chunk once writes have replaced all of them. That is what a
// client does after a server crash: it resends everything it has not seen
// committed, in pieces that need not match the chunks. Until then a read
// of the unreadable bytes fails (Errc::kCorrupt), a pressure or idle flush
// leaves the chunk buffered (padding the file past it with
// EncryptedFile::PadUnreadableTail if it is the torn end of the file, so
// that the chunks after it can be written), and a Commit, Truncate or
// FlushAll writes everything else and fails with kCorrupt: those bytes are
// lost. Such chunks may hold at most a quarter of max_bytes; past that a
// write that needs one fails as the read did. A file cut within the first
// bytes of a new chunk, before any cleartext, has an impossible size: the
// first write drops that fragment (EncryptedFile::DropTornFragment).
//
// Every write, read, size query and truncation of a file must go through
// the same WriteBackBuffer while the buffer is in use, and each file must
// be one shared EncryptedFile object (as Vault::OpenFile hands out): the
// buffer keys files by object.
//
// Thread-safety: all methods may be called from many threads at once, on
// the same file or on different ones. Each file has its own lock, held
// while its chunks change and during I/O on it (not while a whole-chunk
// write is encrypted, see above); one short-held lock guards
// the file registry, the LRU order and the budget. I/O on one file never
// waits for I/O on another, except where a writer must first make room.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <unordered_map>

#include "vaultcore/encrypted_file.h"
#include "vaultcore/status.h"

namespace server {

class WriteBackBuffer {
 public:
  // Writes ending past this are refused with kFileTooBig: the ciphertext
  // of a larger file would not fit in off_t.
  static constexpr uint64_t kMaxFileSize = uint64_t{1} << 62;

  struct Options {
    // Bound on buffered cleartext bytes over all files. buffered_bytes()
    // never exceeds it. A single write that would need more than this on
    // its own is written straight through instead.
    // bench/RESULTS.md (steps 5 and 36): 32 MiB wrote as fast as 64 for
    // 50 MiB less peak, and 16 as fast as 32 for 30 MiB less.
    size_t max_bytes = size_t{16} << 20;
    // A file with no write for this long is written out and fsynced by a
    // background thread, which looks every idle_flush / 2. Zero or less: no
    // background thread; data waits for a commit, pressure or shutdown, and
    // a file written out under pressure keeps its descriptor open until it
    // is committed or FlushAll(true) syncs it.
    std::chrono::milliseconds idle_flush{1500};
  };

  explicit WriteBackBuffer(Options options);
  // Stops the background thread, then FlushAll(true); an error there is
  // logged. No other thread may still be calling in.
  ~WriteBackBuffer();

  WriteBackBuffer(const WriteBackBuffer&) = delete;
  WriteBackBuffer& operator=(const WriteBackBuffer&) = delete;

  // An UNSTABLE write: buffers `data` at `offset` of `file` (a gap past end
  // of file reads as zeros). A 0-byte write changes nothing. If the buffer
  // is full the least recently written files are written out first. An
  // error means this write did not happen: kFileTooBig past kMaxFileSize,
  // a failed read of a partly overwritten chunk, a failed write-through,
  // or a failed flush of this same file's older data, which the next
  // Commit reports again because it lost earlier acknowledged writes.
  // A failed flush of another file does not fail this write (that file's
  // Commit reports it).
  //
  // With `later`, a whole-chunk write that would go straight to the file
  // (see the top of this file) may instead return Ok at once and set
  // *later to the work that writes it. The caller must run that work
  // exactly once, soon, on a thread that holds no lock of this buffer, and
  // keep `data` alive until it returns: other calls on the file wait for
  // it.
  vaultcore::Status Write(const std::shared_ptr<vaultcore::EncryptedFile>& file, uint64_t offset,
                          std::span<const uint8_t> data, std::function<void()>* later = nullptr);

  // Reads up to out.size() bytes at `offset` as the file is after every
  // buffered write: disk content with buffered chunks laid over it, zeros
  // in a gap, stopping at the logical end of file. Returns the bytes read
  // (0 at or past end of file).
  vaultcore::Result<size_t> Read(const std::shared_ptr<vaultcore::EncryptedFile>& file,
                                 uint64_t offset, std::span<uint8_t> out);

  // The logical size: the larger of the size on disk and the end of the
  // buffered data.
  vaultcore::Result<uint64_t> Size(const vaultcore::EncryptedFile& file);
  // Just the end of the buffered data and of the acknowledged writes not
  // yet written: nothing when none is. No disk access (GETATTR and
  // READDIRPLUS ask it of every open file).
  std::optional<uint64_t> BufferedEnd(const vaultcore::EncryptedFile& file);

  // COMMIT: writes the file's buffered chunks out and fsyncs it. Returns
  // the first error since the previous Commit of this file, including one
  // a background or pressure flush met (reported once, then cleared).
  vaultcore::Status Commit(const std::shared_ptr<vaultcore::EncryptedFile>& file);

  // A FILE_SYNC or DATA_SYNC write: Write, then Commit. Because it commits,
  // it also reports (and clears) an earlier flush error of the file.
  vaultcore::Status WriteStable(const std::shared_ptr<vaultcore::EncryptedFile>& file,
                                uint64_t offset, std::span<const uint8_t> data);

  // SETATTR size: drops buffered data at or past `size`, writes out the
  // rest, then EncryptedFile::Truncate(size); no fsync. On an error the
  // size may be unchanged; a failed write-out is also sticky for Commit.
  vaultcore::Status Truncate(const std::shared_ptr<vaultcore::EncryptedFile>& file, uint64_t size);

  // Shutdown: writes out every file with buffered data and, with `sync`,
  // fsyncs every file written since its last fsync. Returns the first
  // error, including flush errors no Commit has reported yet (which stay
  // sticky). Writes that race with it may stay buffered.
  vaultcore::Status FlushAll(bool sync);

  // Cleartext bytes buffered now, over all files.
  size_t buffered_bytes() const;

  // How many flushes failed and dropped acknowledged data since the buffer
  // was made. The server folds it into its write verifier, so that every
  // client resends what it has not seen committed.
  uint64_t failed_flushes() const { return failed_flushes_.load(std::memory_order_relaxed); }

  // Moves after every write, truncation or failed flush (which drops
  // buffered writes) of any file, once it is over, whether it succeeded
  // or not. A read during which the count did not move missed no change
  // made through the buffer (ReadAhead relies on it).
  uint64_t content_changes() const { return content_changes_.load(); }

  // How long an fsync took lately (a moving average over the recent ones;
  // a disk's figure until the first). On tmpfs it is next to nothing, and
  // a COMMIT is not worth a thread of its own (see Dispatch::kDiskWait).
  std::chrono::microseconds recent_sync_time() const {
    return std::chrono::microseconds(recent_sync_us_.load(std::memory_order_relaxed));
  }

 private:
  struct FileState;
  using StatePtr = std::shared_ptr<FileState>;
  struct WritePlan;

  // Finds the state of `file` (creating it if `create_with` is set) and
  // locks it into `lock`; null if there is none and none was to be made.
  StatePtr LockState(const vaultcore::EncryptedFile* file,
                     const std::shared_ptr<vaultcore::EncryptedFile>* create_with,
                     std::unique_lock<std::mutex>& lock);

  // The remaining helpers named *Locked need the file's lock held.
  vaultcore::Status PlanWriteLocked(FileState& state, uint64_t offset, size_t length,
                                    WritePlan& plan);
  void ApplyWriteLocked(FileState& state, WritePlan& plan, uint64_t offset,
                        std::span<const uint8_t> data);
  // Whether a write is of whole chunks that can go straight to the file
  // (see the top of this file), overlapping no buffered chunk and no write
  // landing now, given whether the file reaches `offset` with no gap and
  // where it ends counting what is buffered (`logical_end`).
  static bool IsWholeChunkWriteLocked(const FileState& state, uint64_t offset, size_t length,
                                      bool continues_file, uint64_t logical_end);
  // Whether the file, `disk_size` long on disk, reaches `offset` with no
  // gap once the writes landing now and the buffered chunks are counted.
  static bool ContinuesToLocked(const FileState& state, uint64_t disk_size, uint64_t offset);
  // Whether a write may be sealed: it extends the file, and it would pass
  // IsWholeChunkWriteLocked once the writes landing now are on disk and a
  // gap of at most 16 MiB before it is filled.
  static bool CanSealLocked(const FileState& state, const WritePlan& plan, uint64_t offset,
                            size_t length);
  // The body of Write. `acknowledged`: the write was answered, could not
  // land straight (LandAcknowledged) and is written the ordinary way, not
  // waiting for acknowledged writes (it is one of them).
  vaultcore::Status WriteAs(const std::shared_ptr<vaultcore::EncryptedFile>& file, uint64_t offset,
                            std::span<const uint8_t> data, std::function<void()>* later,
                            bool acknowledged);
  // Encrypts `data`, registered as landing at `offset`, with the lock
  // released, then, once the writes landing below it have landed, writes
  // it to the file if it still can go there straight. False: nothing was
  // written. Either way it no longer counts as landing.
  vaultcore::Result<bool> SealAndLandLocked(FileState& state, std::unique_lock<std::mutex>& lock,
                                            uint64_t offset, std::span<const uint8_t> data);
  // The work Write hands back for an acknowledged write: with `seal`, seals
  // and lands it (or, if the file does not reach it, writes it the
  // ordinary way); else (an overwrite within the file) writes it under the
  // lock. A failure is recorded as a failed flush.
  void LandAcknowledged(const StatePtr& state, uint64_t offset, std::span<const uint8_t> data,
                        bool seal);
  // Waits, with the file's lock held in `lock`, until every acknowledged
  // write of the file is written; false if there was none to wait for.
  static bool WaitForAcknowledgedLocked(FileState& state, std::unique_lock<std::mutex>& lock);
  // Writes `data` to the file now, unbuffered; WriteThroughLocked first
  // writes out what is buffered.
  vaultcore::Status WriteDirectLocked(FileState& state, uint64_t offset,
                                      std::span<const uint8_t> data);
  vaultcore::Status WriteThroughLocked(FileState& state, uint64_t offset,
                                       std::span<const uint8_t> data);
  // Why a flush runs, which decides what it does with a chunk whose
  // unreadable bytes no write has replaced yet, and who hears of a failure.
  enum class FlushFor {
    kCommit,      // everything must reach the disk: such a chunk fails the flush
    kWriter,      // room or order for a write of this file: such chunks stay
    kBackground,  // pressure from another file, or idle: they stay; failures are logged
  };
  // Writes out and drops the buffered chunks of the file, or only those
  // before chunk index `below` (on a failure, all are dropped). Returns
  // this flush's error, which also becomes the sticky error if there is
  // none.
  vaultcore::Status FlushLocked(FileState& state, FlushFor why,
                                uint64_t below = std::numeric_limits<uint64_t>::max());
  // Brings the file's count of such chunks' bytes, and the buffer's, up to
  // date after its chunks changed.
  void RecountStuckLocked(FileState& state);
  // End of the buffered data, 0 if none.
  static uint64_t BufferedEndLocked(const FileState& state);
  // The larger of that and the end of the acknowledged writes not written
  // yet.
  static uint64_t PendingEndLocked(const FileState& state);
  // Forgets the file if it has nothing left to write, sync or report.
  void ForgetIfIdleLocked(FileState& state);

  // Adds `bytes` to the budget if they fit; marks the file just written.
  bool TryReserve(FileState& state, size_t bytes);
  // Gives back bytes of a flushed file.
  void ReleaseBytes(FileState& state, size_t bytes);
  // Writes out least recently written files until `bytes` more would fit.
  // Returns an error only if a flush of `self` failed.
  vaultcore::Status MakeRoom(size_t bytes, const FileState* self);
  // Records that everything written to the file up to `generation` is on
  // stable storage.
  void FinishSync(const StatePtr& state, uint64_t generation);

  // Needs mutex_. Keeps the file in lru_ exactly while it has buffered
  // bytes a flush can write out; `touch` makes it the most recently
  // written.
  void UpdateLruLocked(FileState& state, bool touch);

  void IdleFlushLoop();
  void IdleFlush(const StatePtr& state);

  const Options options_;

  mutable std::mutex mutex_;  // guards everything below and FileState's bookkeeping
  std::unordered_map<const vaultcore::EncryptedFile*, StatePtr> files_;
  // Files with buffered bytes a flush can write out, least recently
  // written first.
  std::list<StatePtr> lru_;
  std::atomic<size_t> buffered_{0};  // changed under mutex_; buffered_bytes() reads it without
  // The part of buffered_ in chunks with unreadable bytes: no flush can
  // free it until writes replace those bytes.
  size_t stuck_ = 0;
  std::condition_variable room_cv_;  // a flush finished: bytes may have been freed
  std::condition_variable stop_cv_;  // wakes the background thread to stop
  bool stop_ = false;

  std::atomic<uint64_t> failed_flushes_{0};
  std::atomic<uint64_t> content_changes_{0};
  // Moves content_changes_ when it goes out of scope: after the change.
  struct CountChangeOnExit {
    std::atomic<uint64_t>& count;
    ~CountChangeOnExit() { count.fetch_add(1); }
  };
  std::atomic<int64_t> recent_sync_us_{1000};
  // file.Sync(), timed into recent_sync_us_.
  vaultcore::Status Sync(vaultcore::EncryptedFile& file);

  std::thread idle_thread_;  // last: started once everything above exists
};

}  // namespace server
