#include "server/write_back.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <iterator>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "server/write_back_file_state.h"
#include "vaultcore/log.h"

namespace server {

using vaultcore::EncryptedFile;
using vaultcore::Errc;
using vaultcore::Result;
using vaultcore::Status;
using write_back_internal::kChunk;
using write_back_internal::OverlapsAny;
using write_back_internal::Ranges;

namespace {

// Consecutive chunks are written with one EncryptedFile::Write of up to
// this many (its own pwrite batch), so a long sequential run costs one
// system call per MiB rather than one per chunk.
constexpr size_t kMaxRunChunks = 32;

// Removes [from, to) from `ranges`.
void Subtract(Ranges& ranges, size_t from, size_t to) {
  Ranges left;
  for (const auto& [begin, end] : ranges) {
    if (begin < from) left.emplace_back(begin, std::min(end, from));
    if (end > to) left.emplace_back(std::max(begin, to), end);
  }
  ranges = std::move(left);
}

}  // namespace

WriteBackBuffer::WriteBackBuffer(Options options) : options_(options) {
  if (options_.idle_flush.count() > 0) idle_thread_ = std::thread([this] { IdleFlushLoop(); });
}

WriteBackBuffer::~WriteBackBuffer() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (idle_thread_.joinable()) idle_thread_.join();
  Status s = FlushAll(true);
  if (!s.ok()) {
    vaultcore::Log(vaultcore::LogLevel::kError, "write-back at shutdown: " + s.ToString());
  }
}

size_t WriteBackBuffer::buffered_bytes() const { return buffered_.load(); }

WriteBackBuffer::StatePtr WriteBackBuffer::LockState(
    const EncryptedFile* file, const std::shared_ptr<EncryptedFile>* create_with,
    std::unique_lock<std::mutex>& lock) {
  for (;;) {
    StatePtr state;
    {
      std::lock_guard registry(mutex_);
      if (auto it = files_.find(file); it != files_.end()) {
        state = it->second;
      } else if (create_with == nullptr) {
        return nullptr;
      } else {
        state = std::make_shared<FileState>(*create_with);
        files_.emplace(file, state);
      }
    }
    std::unique_lock file_lock(state->mutex);
    {
      // Forgotten between the lookup and the lock: look again.
      std::lock_guard registry(mutex_);
      if (!state->registered) continue;
    }
    lock = std::move(file_lock);
    return state;
  }
}

uint64_t WriteBackBuffer::BufferedEndLocked(const FileState& state) {
  if (state.chunks.empty()) return 0;
  const auto& [index, content] = *state.chunks.rbegin();
  return index * kChunk + content.size();
}

void WriteBackBuffer::UpdateLruLocked(FileState& state, bool touch) {
  if (touch) state.last_write = std::chrono::steady_clock::now();
  const bool want = state.registered && state.bytes > state.stuck_bytes;
  if (!want) {
    if (state.in_lru) lru_.erase(state.lru_pos);
    state.in_lru = false;
  } else if (!state.in_lru) {
    state.lru_pos = lru_.insert(lru_.end(), state.shared_from_this());
    state.in_lru = true;
  } else if (touch) {
    lru_.splice(lru_.end(), lru_, state.lru_pos);
  }
}

bool WriteBackBuffer::TryReserve(FileState& state, size_t bytes) {
  std::lock_guard lock(mutex_);
  if (bytes > options_.max_bytes - buffered_) return false;
  buffered_ += bytes;
  state.bytes += bytes;
  UpdateLruLocked(state, /*touch=*/true);
  return true;
}

void WriteBackBuffer::ReleaseBytes(FileState& state, size_t bytes) {
  std::lock_guard lock(mutex_);
  assert(state.bytes >= bytes && buffered_ >= bytes);
  buffered_ -= bytes;
  state.bytes -= bytes;
  UpdateLruLocked(state, /*touch=*/false);
  if (bytes > 0) room_cv_.notify_all();
}

void WriteBackBuffer::ForgetIfIdleLocked(FileState& state) {
  std::lock_guard lock(mutex_);
  if (!state.registered || !state.chunks.empty() || !state.landing.empty() ||
      !state.acknowledged.empty() || !state.error.ok() || state.bytes != 0 ||
      state.written_gen != state.synced_gen) {
    return;
  }
  state.registered = false;
  UpdateLruLocked(state, /*touch=*/false);
  files_.erase(state.file.get());
}

Status WriteBackBuffer::PlanWriteLocked(FileState& state, uint64_t offset, size_t length,
                                        WritePlan& plan) {
  auto disk_size = state.file->Size();
  if (!disk_size.ok() && disk_size.status().code() == Errc::kCorrupt) {
    auto dropped = state.file->DropTornFragment();
    if (dropped.ok() && *dropped) disk_size = state.file->Size();
  }
  if (!disk_size.ok()) return disk_size.status();
  const uint64_t end = offset + length;
  plan.disk_size = *disk_size;
  plan.old_end = std::max(*disk_size, BufferedEndLocked(state));
  plan.new_end = std::max(plan.old_end, end);
  plan.growth = 0;
  plan.loaded.clear();

  const uint64_t first = offset / kChunk;
  const uint64_t last = (end - 1) / kChunk;
  for (uint64_t index = first; index <= last; ++index) {
    const uint64_t start = index * kChunk;
    const size_t valid = std::min(kChunk, plan.new_end - start);
    if (auto it = state.chunks.find(index); it != state.chunks.end()) {
      plan.growth += valid - it->second.size();
      continue;
    }
    plan.growth += valid;
    if (offset <= start && end >= start + valid) continue;  // wholly overwritten
    std::vector<uint8_t> content(valid, 0);
    size_t unreadable = 0;
    if (start < *disk_size) {
      // valid >= the chunk's length on disk, as new_end >= disk_size
      auto intact = state.file->ReadChunkForRewrite(index, content);
      if (!intact.ok()) return intact.status();
      if (!*intact) {
        unreadable = std::min<uint64_t>(valid, *disk_size - start);
        std::lock_guard registry(mutex_);
        if (stuck_ + valid > options_.max_bytes / 4) {
          return Status(Errc::kCorrupt, state.file->path() + ": chunk " + std::to_string(index) +
                                            " failed authentication");
        }
      }
    }
    plan.loaded.push_back({index, std::move(content), unreadable});
  }

  // A buffered chunk holding the old end of file, before the write, must
  // grow with zeros to stay complete.
  if (plan.new_end > plan.old_end && plan.old_end % kChunk != 0 && plan.old_end / kChunk < first) {
    if (auto it = state.chunks.find(plan.old_end / kChunk); it != state.chunks.end()) {
      plan.growth += kChunk - it->second.size();
    }
  }
  return Status::Ok();
}

void WriteBackBuffer::ApplyWriteLocked(FileState& state, WritePlan& plan, uint64_t offset,
                                       std::span<const uint8_t> data) {
  const uint64_t end = offset + data.size();
  const uint64_t first = offset / kChunk;
  const uint64_t last = (end - 1) / kChunk;
  auto loaded = plan.loaded.begin();
  for (uint64_t index = first; index <= last; ++index) {
    const uint64_t start = index * kChunk;
    const size_t valid = std::min(kChunk, plan.new_end - start);
    auto [it, inserted] = state.chunks.try_emplace(index);
    std::vector<uint8_t>& chunk = it->second;
    if (inserted && loaded != plan.loaded.end() && loaded->index == index) {
      chunk = std::move(loaded->content);
      if (loaded->unreadable > 0) state.unreadable[index] = {{0, loaded->unreadable}};
      ++loaded;
    } else {
      chunk.resize(valid);  // a new chunk is overwritten below; an old one grows with zeros
    }
    const uint64_t from = std::max(offset, start);
    const uint64_t to = std::min(end, start + kChunk);
    std::memcpy(chunk.data() + (from - start), data.data() + (from - offset), to - from);
    if (auto bad = state.unreadable.find(index); bad != state.unreadable.end()) {
      Subtract(bad->second, from - start, to - start);
      if (bad->second.empty()) state.unreadable.erase(bad);
    }
  }
  if (plan.new_end > plan.old_end && plan.old_end % kChunk != 0 && plan.old_end / kChunk < first) {
    if (auto it = state.chunks.find(plan.old_end / kChunk); it != state.chunks.end()) {
      it->second.resize(kChunk);
    }
  }
  RecountStuckLocked(state);
}

void WriteBackBuffer::RecountStuckLocked(FileState& state) {
  size_t stuck = 0;
  for (const auto& [index, ranges] : state.unreadable) stuck += state.chunks.at(index).size();
  if (stuck == state.stuck_bytes) return;
  std::lock_guard lock(mutex_);
  stuck_ = stuck_ - state.stuck_bytes + stuck;
  state.stuck_bytes = stuck;
  UpdateLruLocked(state, /*touch=*/false);
}

Status WriteBackBuffer::FlushLocked(FileState& state, FlushFor why, uint64_t below) {
  const auto stop = state.chunks.lower_bound(below);
  if (stop == state.chunks.begin()) return Status::Ok();
  Status result;
  std::optional<uint64_t> disk_size;  // asked once a run needs it
  std::vector<uint8_t> run;
  for (auto it = state.chunks.begin(); it != stop;) {
    if (state.unreadable.contains(it->first)) {
      ++it;  // waits for writes that replace its unreadable bytes
      continue;
    }
    auto next = std::next(it);
    size_t count = 1;
    while (next != stop && count < kMaxRunChunks && next->first == std::prev(next)->first + 1 &&
           std::prev(next)->second.size() == kChunk && !state.unreadable.contains(next->first)) {
      ++next;
      ++count;
    }
    const uint64_t offset = it->first * kChunk;
    if (!disk_size) {
      auto size = state.file->Size();
      if (!size.ok()) {
        result = size.status();
        break;
      }
      disk_size = *size;
    }
    // Write would extend the file's last chunk to reach this run, reading
    // it: a torn one is padded instead.
    if (offset > *disk_size && *disk_size % kChunk != 0) {
      auto padded = state.file->PadUnreadableTail();
      if (!padded.ok()) {
        result = padded.status();
        break;
      }
    }
    Status s;
    uint64_t length = it->second.size();
    if (count == 1) {
      s = state.file->Write(offset, it->second);
    } else {
      run.clear();
      for (auto chunk = it; chunk != next; ++chunk) {
        run.insert(run.end(), chunk->second.begin(), chunk->second.end());
      }
      length = run.size();
      s = state.file->Write(offset, run);
    }
    if (!s.ok()) {
      result = std::move(s);
      break;
    }
    disk_size = std::max(*disk_size, offset + length);
    it = next;
  }
  if (result.ok() && why == FlushFor::kCommit && !state.unreadable.empty()) {
    const uint64_t index = state.unreadable.begin()->first;
    result = Status(Errc::kCorrupt, state.file->path() + ": chunk " + std::to_string(index) +
                                        " failed authentication, and writes replaced only part "
                                        "of it: the rest is lost");
  }

  // A failure drops everything buffered, as the top of write_back.h says.
  size_t bytes = 0;
  const auto dropped = result.ok() ? stop : state.chunks.end();
  for (auto it = state.chunks.begin(); it != dropped;) {
    if (result.ok() && state.unreadable.contains(it->first)) {
      ++it;
      continue;
    }
    bytes += it->second.size();
    state.unreadable.erase(it->first);
    it = state.chunks.erase(it);
  }
  if (!result.ok()) {
    failed_flushes_.fetch_add(1, std::memory_order_relaxed);
    content_changes_.fetch_add(1);
    if (state.error.ok()) state.error = result;
    if (why == FlushFor::kBackground) {
      vaultcore::Log(vaultcore::LogLevel::kError,
                     "write-back of " + state.file->path() +
                         " failed, buffered writes dropped (the next COMMIT reports it): " +
                         result.ToString());
    }
  }
  {
    std::lock_guard lock(mutex_);
    assert(state.bytes >= bytes && buffered_ >= bytes);
    buffered_ -= bytes;
    state.bytes -= bytes;
    ++state.written_gen;
    UpdateLruLocked(state, /*touch=*/false);
  }
  RecountStuckLocked(state);
  room_cv_.notify_all();
  return result;
}

Status WriteBackBuffer::WriteDirectLocked(FileState& state, uint64_t offset,
                                          std::span<const uint8_t> data) {
  Status s = state.file->Write(offset, data);
  std::lock_guard lock(mutex_);
  ++state.written_gen;
  UpdateLruLocked(state, /*touch=*/true);
  return s;
}

Status WriteBackBuffer::WriteThroughLocked(FileState& state, uint64_t offset,
                                           std::span<const uint8_t> data) {
  Status s = FlushLocked(state, FlushFor::kWriter);
  if (!s.ok()) return s;
  // What the flush left are chunks with unreadable bytes: the write
  // replaces those it covers whole, and cannot merge into the others.
  const uint64_t end = offset + data.size();
  const auto first = state.chunks.lower_bound(offset / kChunk);
  auto last = first;
  for (; last != state.chunks.end() && last->first * kChunk < end; ++last) {
    const uint64_t start = last->first * kChunk;
    if (start < offset || start + last->second.size() > end) {
      return Status(Errc::kCorrupt, state.file->path() + ": chunk " + std::to_string(last->first) +
                                        " failed authentication");
    }
  }
  s = WriteDirectLocked(state, offset, data);
  if (!s.ok() || first == last) return s;
  size_t replaced = 0;
  for (auto it = first; it != last; ++it) {
    replaced += it->second.size();
    state.unreadable.erase(it->first);
  }
  state.chunks.erase(first, last);
  ReleaseBytes(state, replaced);
  RecountStuckLocked(state);
  return s;
}

Status WriteBackBuffer::MakeRoom(size_t bytes, const FileState* self) {
  std::unique_lock lock(mutex_);
  while (bytes > options_.max_bytes - buffered_) {
    if (bytes > options_.max_bytes) return Status::Ok();  // the caller writes through
    StatePtr victim;
    for (const StatePtr& state : lru_) {
      if (!state->flushing) {
        victim = state;
        break;
      }
    }
    if (victim == nullptr) {
      if (lru_.empty()) {
        // What is buffered waits for writes to replace unreadable bytes.
        return Status(Errc::kNoSpace,
                      "write-back: no room while chunks that failed "
                      "authentication wait for the rest of their data");
      }
      // Every buffered file is being flushed by another thread already.
      room_cv_.wait(lock);
      continue;
    }
    victim->flushing = true;
    lock.unlock();
    Status s;
    {
      std::unique_lock file_lock(victim->mutex);
      bool live;
      {
        std::lock_guard registry(mutex_);
        live = victim->registered;
      }
      if (live) {
        s = FlushLocked(*victim, victim.get() == self ? FlushFor::kWriter : FlushFor::kBackground);
        ForgetIfIdleLocked(*victim);
      }
    }
    lock.lock();
    victim->flushing = false;
    room_cv_.notify_all();
    if (!s.ok() && victim.get() == self) return s;
  }
  return Status::Ok();
}

Status WriteBackBuffer::Write(const std::shared_ptr<EncryptedFile>& file, uint64_t offset,
                              std::span<const uint8_t> data, std::function<void()>* later) {
  if (file == nullptr) return Status(Errc::kInvalidArgument, "write-back: no file");
  if (data.empty()) return Status::Ok();  // POSIX: not even an extension
  if (offset > kMaxFileSize || data.size() > kMaxFileSize - offset) {
    return Status(Errc::kFileTooBig, file->path() + ": a write at " + std::to_string(offset) +
                                         " would end past the largest file size");
  }
  const CountChangeOnExit counted{content_changes_};
  return WriteAs(file, offset, data, later, /*acknowledged=*/false);
}

Status WriteBackBuffer::WriteAs(const std::shared_ptr<EncryptedFile>& file, uint64_t offset,
                                std::span<const uint8_t> data, std::function<void()>* later,
                                bool acknowledged) {
  bool may_seal = !acknowledged && data.size() <= kMaxRunChunks * kChunk;
  for (;;) {
    std::unique_lock<std::mutex> lock;
    StatePtr state = LockState(file.get(), &file, lock);
    WritePlan plan;
    Status s = PlanWriteLocked(*state, offset, data.size(), plan);
    // The work first: a registration nobody would finish blocks the file.
    const auto acknowledge = [&](bool seal) {
      *later = [this, state, offset, data, seal] { LandAcknowledged(state, offset, data, seal); };
      if (seal) state->landing.emplace(offset, offset + data.size());
      state->acknowledged.emplace(offset, offset + data.size());
      return Status::Ok();
    };
    if (s.ok() && may_seal && CanSealLocked(*state, plan, offset, data.size())) {
      if (later != nullptr) return acknowledge(/*seal=*/true);
      state->landing.emplace(offset, offset + data.size());
      auto landed = SealAndLandLocked(*state, lock, offset, data);
      if (landed.ok() && !*landed) {
        may_seal = false;  // the file changed meanwhile: write it the ordinary way
        continue;
      }
      s = landed.status();
    } else if (s.ok() && later != nullptr &&
               !OverlapsAny(state->acknowledged, offset, offset + data.size()) &&
               IsWholeChunkWriteLocked(*state, offset, data.size(), offset <= plan.disk_size,
                                       std::max(plan.old_end, PendingEndLocked(*state)))) {
      // An overwrite within the file: encrypted under the lock, as it
      // would have been before the reply.
      return acknowledge(/*seal=*/false);
    } else if (s.ok() && !acknowledged && WaitForAcknowledgedLocked(*state, lock)) {
      continue;  // plan again, with them written
    } else if (s.ok()) {
      if (IsWholeChunkWriteLocked(*state, offset, data.size(), offset <= plan.disk_size,
                                  plan.old_end)) {
        s = WriteDirectLocked(*state, offset, data);
      } else if (plan.growth > options_.max_bytes) {
        s = WriteThroughLocked(*state, offset, data);
      } else if (TryReserve(*state, plan.growth)) {
        ApplyWriteLocked(*state, plan, offset, data);
      } else {
        // Flushing needs other files' locks; never wait for one holding ours.
        ForgetIfIdleLocked(*state);
        lock.unlock();
        s = MakeRoom(plan.growth, state.get());
        if (s.ok()) continue;  // plan again: the file may have changed meanwhile
        return s;
      }
    }
    ForgetIfIdleLocked(*state);
    return s;
  }
}

Result<size_t> WriteBackBuffer::Read(const std::shared_ptr<EncryptedFile>& file, uint64_t offset,
                                     std::span<uint8_t> out) {
  if (file == nullptr) return Status(Errc::kInvalidArgument, "write-back: no file");
  std::unique_lock<std::mutex> lock;
  StatePtr state = LockState(file.get(), nullptr, lock);
  if (state != nullptr) WaitForAcknowledgedLocked(*state, lock);
  if (state == nullptr || state->chunks.empty()) {
    // Nothing buffered: the disk is the truth, and reading it needs no lock
    // of ours (a write that slips in now simply comes after this read).
    if (lock.owns_lock()) lock.unlock();
    return file->Read(offset, out);
  }
  auto disk_size = file->Size();
  if (!disk_size.ok()) return disk_size.status();
  const uint64_t size = std::max(*disk_size, BufferedEndLocked(*state));
  if (offset >= size || out.empty()) return size_t{0};
  const uint64_t stop = offset + std::min<uint64_t>(out.size(), size - offset);

  auto it = state->chunks.lower_bound(offset / kChunk);
  uint64_t pos = offset;
  while (pos < stop) {
    uint8_t* dest = out.data() + (pos - offset);
    const uint64_t index = pos / kChunk;
    if (it != state->chunks.end() && it->first == index) {
      const uint64_t start = index * kChunk;
      const uint64_t to = std::min(stop, start + kChunk);
      const uint64_t have = std::clamp(start + it->second.size(), pos, to);
      if (auto bad = state->unreadable.find(index);
          bad != state->unreadable.end() && OverlapsAny(bad->second, pos - start, to - start)) {
        return Status(Errc::kCorrupt,
                      file->path() + ": chunk " + std::to_string(index) + " failed authentication");
      }
      if (have > pos) std::memcpy(dest, it->second.data() + (pos - start), have - pos);
      std::memset(dest + (have - pos), 0, to - have);
      pos = to;
      ++it;
    } else {
      // Up to the next buffered chunk from disk; past its end of file lies
      // a gap that a later buffered chunk opened: zeros.
      const uint64_t to = it == state->chunks.end() ? stop : std::min(stop, it->first * kChunk);
      auto got = file->Read(pos, std::span(dest, to - pos));
      if (!got.ok()) return got.status();
      std::memset(dest + *got, 0, to - pos - *got);
      pos = to;
    }
  }
  return static_cast<size_t>(stop - offset);
}

Result<uint64_t> WriteBackBuffer::Size(const EncryptedFile& file) {
  std::unique_lock<std::mutex> lock;
  StatePtr state = LockState(&file, nullptr, lock);
  auto disk_size = file.Size();
  if (state == nullptr || !disk_size.ok()) return disk_size;
  return std::max(*disk_size, PendingEndLocked(*state));
}

std::optional<uint64_t> WriteBackBuffer::BufferedEnd(const EncryptedFile& file) {
  std::unique_lock<std::mutex> lock;
  StatePtr state = LockState(&file, nullptr, lock);
  if (state == nullptr) return std::nullopt;
  return PendingEndLocked(*state);
}

void WriteBackBuffer::FinishSync(const StatePtr& state, uint64_t generation) {
  std::unique_lock<std::mutex> file_lock(state->mutex);
  {
    std::lock_guard registry(mutex_);
    if (!state->registered) return;
    state->synced_gen = std::max(state->synced_gen, generation);
  }
  ForgetIfIdleLocked(*state);
}

Status WriteBackBuffer::Commit(const std::shared_ptr<EncryptedFile>& file) {
  if (file == nullptr) return Status(Errc::kInvalidArgument, "write-back: no file");
  std::unique_lock<std::mutex> lock;
  StatePtr state = LockState(file.get(), nullptr, lock);
  if (state == nullptr) return Sync(*file);
  WaitForAcknowledgedLocked(*state, lock);
  (void)FlushLocked(*state, FlushFor::kCommit);  // its error, if first, is in state->error
  const Status reported = std::exchange(state->error, Status());
  uint64_t generation;
  {
    std::lock_guard registry(mutex_);
    generation = state->written_gen;
  }
  // fdatasync can take long: let readers and writers of the file go on.
  lock.unlock();
  Status s = Sync(*file);
  if (s.ok()) FinishSync(state, generation);
  return reported.ok() ? s : reported;
}

Status WriteBackBuffer::Sync(EncryptedFile& file) {
  const auto start = std::chrono::steady_clock::now();
  Status s = file.Sync();
  const int64_t took = std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
  // An average over about the last eight: one slow fsync on tmpfs (a busy
  // moment) moves it little, a disk shows within a few COMMITs.
  int64_t old = recent_sync_us_.load(std::memory_order_relaxed);
  while (!recent_sync_us_.compare_exchange_weak(old, (7 * old + took) / 8,
                                                std::memory_order_relaxed)) {
  }
  return s;
}

Status WriteBackBuffer::WriteStable(const std::shared_ptr<EncryptedFile>& file, uint64_t offset,
                                    std::span<const uint8_t> data) {
  Status s = Write(file, offset, data);
  if (!s.ok()) return s;
  return Commit(file);
}

Status WriteBackBuffer::Truncate(const std::shared_ptr<EncryptedFile>& file, uint64_t size) {
  if (file == nullptr) return Status(Errc::kInvalidArgument, "write-back: no file");
  if (size > kMaxFileSize) {
    return Status(Errc::kFileTooBig, file->path() + ": size " + std::to_string(size) +
                                         " is past the largest file size");
  }
  const CountChangeOnExit counted{content_changes_};
  std::unique_lock<std::mutex> lock;
  StatePtr state = LockState(file.get(), &file, lock);
  WaitForAcknowledgedLocked(*state, lock);
  size_t dropped = 0;
  for (auto it = state->chunks.lower_bound(size / kChunk); it != state->chunks.end();) {
    const uint64_t start = it->first * kChunk;
    if (start >= size) {
      dropped += it->second.size();
      state->unreadable.erase(it->first);
      it = state->chunks.erase(it);
    } else {
      const size_t keep = size - start;
      if (it->second.size() > keep) {
        dropped += it->second.size() - keep;
        it->second.resize(keep);
        if (auto bad = state->unreadable.find(it->first); bad != state->unreadable.end()) {
          Subtract(bad->second, keep, kChunk);
          if (bad->second.empty()) state->unreadable.erase(bad);
        }
      }
      ++it;
    }
  }
  ReleaseBytes(*state, dropped);
  RecountStuckLocked(*state);
  Status s = FlushLocked(*state, FlushFor::kCommit);
  if (s.ok()) {
    s = file->Truncate(size);
    std::lock_guard registry(mutex_);
    ++state->written_gen;
    UpdateLruLocked(*state, /*touch=*/true);
  }
  ForgetIfIdleLocked(*state);
  return s;
}

Status WriteBackBuffer::FlushAll(bool sync) {
  std::vector<StatePtr> states;
  {
    std::lock_guard registry(mutex_);
    states.reserve(files_.size());
    for (const auto& [file, state] : files_) states.push_back(state);
  }
  Status first;
  for (const StatePtr& state : states) {
    uint64_t generation = 0;
    bool need_sync = false;
    {
      std::unique_lock file_lock(state->mutex);
      {
        std::lock_guard registry(mutex_);
        if (!state->registered) continue;
      }
      WaitForAcknowledgedLocked(*state, file_lock);
      (void)FlushLocked(*state, FlushFor::kCommit);  // its error, if first, is in state->error
      if (first.ok()) first = state->error;
      {
        std::lock_guard registry(mutex_);
        generation = state->written_gen;
        need_sync = sync && generation != state->synced_gen;
      }
      ForgetIfIdleLocked(*state);
    }
    if (need_sync) {
      Status s = Sync(*state->file);
      if (s.ok()) {
        FinishSync(state, generation);
      } else if (first.ok()) {
        first = std::move(s);
      }
    }
  }
  return first;
}

void WriteBackBuffer::IdleFlush(const StatePtr& state) {
  uint64_t generation = 0;
  bool need_sync = false;
  {
    std::unique_lock file_lock(state->mutex);
    bool live;
    {
      std::lock_guard registry(mutex_);
      live = state->registered;
    }
    if (live) {
      (void)FlushLocked(*state, FlushFor::kBackground);
      std::lock_guard registry(mutex_);
      generation = state->written_gen;
      need_sync = generation != state->synced_gen;
    }
  }
  if (need_sync) {
    Status s = Sync(*state->file);
    if (s.ok()) {
      FinishSync(state, generation);
    } else {
      // The kernel reports a writeback error to one fsync only: keep it for
      // the client's COMMIT.
      vaultcore::Log(vaultcore::LogLevel::kError,
                     "write-back of " + state->file->path() + " failed: " + s.ToString());
      // Record it on the file's live state, even if a Commit forgot this one.
      std::unique_lock<std::mutex> file_lock;
      StatePtr live = LockState(state->file.get(), &state->file, file_lock);
      if (live->error.ok()) live->error = std::move(s);
    }
  }
  std::lock_guard registry(mutex_);
  state->flushing = false;
  room_cv_.notify_all();
}

void WriteBackBuffer::IdleFlushLoop() {
  const auto idle = options_.idle_flush;
  const auto period = std::max<std::chrono::milliseconds>(idle / 2, std::chrono::milliseconds(1));
  std::unique_lock lock(mutex_);
  while (!stop_) {
    if (stop_cv_.wait_for(lock, period, [this] { return stop_; })) break;
    const auto now = std::chrono::steady_clock::now();
    std::vector<StatePtr> due;
    for (const auto& [file, state] : files_) {
      const bool pending =
          state->bytes > state->stuck_bytes || state->written_gen != state->synced_gen;
      if (pending && !state->flushing && now - state->last_write >= idle) {
        state->flushing = true;
        due.push_back(state);
      }
    }
    lock.unlock();
    for (const StatePtr& state : due) IdleFlush(state);
    lock.lock();
  }
}

}  // namespace server
