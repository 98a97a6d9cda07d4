// WriteBackBuffer's whole-chunk writes that go past the buffer (see the
// top of write_back.h): sealed ones, encrypted without the file's lock and
// landing in order, and acknowledged ones, answered before they are
// written, which the file's other calls wait for.
#include <algorithm>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "server/write_back.h"
#include "server/write_back_file_state.h"
#include "vaultcore/log.h"

namespace server {

using vaultcore::Result;
using vaultcore::Status;
using write_back_internal::EndOf;
using write_back_internal::kChunk;
using write_back_internal::OverlapsAny;

namespace {

// How far past the reach of a file (on disk, landing and buffered) a
// whole-chunk write may start and still be sealed. A client streaming a new
// file sends its WRITEs in order, but the workers take them up in another
// one about half the time (a 1 MiB WRITE at 32 in flight); each of those
// was buffered, which copied it twice and held the budget. The server lets
// 16 MiB of calls in at once (ConnectionLimits), so a gap wider than that
// is not about to be filled by a write already here.
constexpr uint64_t kSealAhead = uint64_t{16} << 20;

// The ciphertext of a sealed write (see Write), kept by the thread that
// sealed it until it lands: no allocation per WRITE.
std::span<uint8_t> ThreadSealBuffer(size_t size) {
  thread_local std::vector<uint8_t> buffer;
  if (buffer.size() < size) buffer.resize(size);
  return std::span(buffer).first(size);
}

// At least one chunk, from a chunk's start: smaller writes are what the
// buffer is for.
bool SpansWholeChunks(uint64_t offset, size_t length) {
  return length >= kChunk && offset % kChunk == 0;
}

}  // namespace

uint64_t WriteBackBuffer::PendingEndLocked(const FileState& state) {
  return std::max(BufferedEndLocked(state), EndOf(state.acknowledged));
}

bool WriteBackBuffer::WaitForAcknowledgedLocked(FileState& state,
                                                std::unique_lock<std::mutex>& lock) {
  if (state.acknowledged.empty()) return false;
  state.landed.wait(lock, [&] { return state.acknowledged.empty(); });
  return true;
}

bool WriteBackBuffer::IsWholeChunkWriteLocked(const FileState& state, uint64_t offset,
                                              size_t length, bool continues_file,
                                              uint64_t logical_end) {
  const uint64_t end = offset + length;
  // Whole chunks, no hole before them (EncryptedFile would fill one with
  // zeros that a buffered chunk may be about to replace), and the last
  // chunk either full or the file's last.
  if (!SpansWholeChunks(offset, length) || !continues_file) return false;
  if (end % kChunk != 0 && end < logical_end) return false;
  auto overlap = state.chunks.lower_bound(offset / kChunk);
  if (overlap != state.chunks.end() && overlap->first <= (end - 1) / kChunk) return false;
  return !OverlapsAny(state.landing, offset, end);
}

bool WriteBackBuffer::ContinuesToLocked(const FileState& state, uint64_t disk_size,
                                        uint64_t offset) {
  uint64_t reach = disk_size;
  auto landing = state.landing.begin();
  auto chunk = state.chunks.lower_bound(disk_size / kChunk);
  while (reach < offset) {
    if (landing != state.landing.end() && landing->first <= reach) {
      reach = std::max(reach, landing->second);
      ++landing;
    } else if (chunk != state.chunks.end() && chunk->first * kChunk <= reach) {
      reach = std::max(reach, chunk->first * kChunk + chunk->second.size());
      ++chunk;
    } else {
      return false;
    }
  }
  return true;
}

bool WriteBackBuffer::CanSealLocked(const FileState& state, const WritePlan& plan, uint64_t offset,
                                    size_t length) {
  // Only writes that extend the file (see the top of write_back.h); the
  // cheap tests come before the walks below.
  if (!SpansWholeChunks(offset, length) || offset < plan.disk_size ||
      OverlapsAny(state.acknowledged, offset, offset + length)) {
    return false;
  }
  const uint64_t pending_end = std::max(PendingEndLocked(state), EndOf(state.landing));
  const uint64_t reach_needed = offset - std::min(offset, kSealAhead);
  return IsWholeChunkWriteLocked(state, offset, length,
                                 ContinuesToLocked(state, plan.disk_size, reach_needed),
                                 std::max(plan.old_end, pending_end));
}

Result<bool> WriteBackBuffer::SealAndLandLocked(FileState& state,
                                                std::unique_lock<std::mutex>& lock, uint64_t offset,
                                                std::span<const uint8_t> data) {
  const std::span<uint8_t> sealed = ThreadSealBuffer(state.file->SealedSize(data.size()));
  lock.unlock();
  Status s = state.file->Seal(offset, data, sealed);
  lock.lock();
  // Writes below this one land first, so that it never lands past the end
  // of file with their chunks still missing before it.
  state.landed.wait(lock, [&] { return state.landing.begin()->first == offset; });
  state.landing.erase(state.landing.begin());
  state.landed.notify_all();
  if (!s.ok()) return s;
  // The file may have changed meanwhile (a truncation, a buffered write
  // over these chunks).
  auto disk_size = state.file->Size();
  if (!disk_size.ok()) return disk_size.status();
  if (!IsWholeChunkWriteLocked(state, offset, data.size(),
                               ContinuesToLocked(state, *disk_size, offset),
                               std::max(*disk_size, BufferedEndLocked(state)))) {
    return false;
  }
  // Buffered chunks fill the gap up to this write: they go first.
  if (offset > *disk_size) {
    s = FlushLocked(state, FlushFor::kWriter, offset / kChunk);
    if (!s.ok()) return s;
  }
  auto written = state.file->WriteSealed(offset, data.size(), sealed);
  if (written.ok() && *written) {
    std::lock_guard registry(mutex_);
    ++state.written_gen;
    UpdateLruLocked(state, /*touch=*/true);
  }
  return written;
}

void WriteBackBuffer::LandAcknowledged(const StatePtr& state, uint64_t offset,
                                       std::span<const uint8_t> data, bool seal) {
  const CountChangeOnExit counted{content_changes_};
  std::unique_lock lock(state->mutex);
  Status s;
  if (!seal) {
    s = WriteDirectLocked(*state, offset, data);
  } else if (auto landed = SealAndLandLocked(*state, lock, offset, data); !landed.ok()) {
    s = landed.status();
  } else if (!*landed) {
    // The file does not reach it: written the ordinary way, as an
    // unacknowledged write would be. Writes that touch these chunks wait
    // for it meanwhile, so it stays the newest.
    lock.unlock();
    s = WriteAs(state->file, offset, data, /*later=*/nullptr, /*acknowledged=*/true);
    lock.lock();
  }
  state->acknowledged.erase(offset);
  state->landed.notify_all();
  if (!s.ok()) {
    failed_flushes_.fetch_add(1, std::memory_order_relaxed);
    if (state->error.ok()) state->error = s;
    vaultcore::Log(
        vaultcore::LogLevel::kError,
        "write-back of " + state->file->path() +
            " failed after its WRITE was answered (the next COMMIT reports it): " + s.ToString());
  }
  ForgetIfIdleLocked(*state);
}

}  // namespace server
