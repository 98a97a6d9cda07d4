#include "server/read_ahead.h"

#include <atomic>
#include <span>

namespace server {

using Clock = std::chrono::steady_clock;

ReadAhead::ReadAhead(WriteBackBuffer& write_back, std::chrono::milliseconds max_age)
    : write_back_(write_back), max_age_(max_age) {}

ReadAhead::~ReadAhead() {
  std::unique_lock lock(mutex_);
  finished_.wait(lock, [this] { return tasks_in_pool_ == 0; });
}

ReadAhead::Stream* ReadAhead::FindLocked(const std::shared_ptr<vaultcore::EncryptedFile>& file) {
  for (Stream& s : streams_) {
    if (!s.file.owner_before(file) && !file.owner_before(s.file)) return &s;
  }
  return nullptr;
}

ReadAhead::Stream* ReadAhead::ClaimLocked() {
  Stream* oldest = nullptr;
  for (Stream& s : streams_) {
    if (s.file.expired()) return &s;  // a task reading into it holds the file
    if (s.state == State::kReading) continue;
    if (oldest == nullptr || s.last_used < oldest->last_used) oldest = &s;
  }
  return oldest;
}

std::shared_ptr<const uint8_t[]> ReadAhead::Take(
    const std::shared_ptr<vaultcore::EncryptedFile>& file, uint64_t offset, size_t count) {
  if (max_age_.count() <= 0 || count == 0) return nullptr;
  std::unique_lock lock(mutex_);
  Stream* s = FindLocked(file);
  if (s == nullptr || s->offset != offset) return nullptr;
  if (s->state == State::kQueued) {
    s->state = State::kIdle;  // not started: reading now ourselves is sooner
    return nullptr;
  }
  finished_.wait(lock, [s] { return s->state != State::kReading; });
  // Others ran meanwhile: the stream may have moved on, even to another file.
  if (s->state != State::kReady || s->offset != offset || FindLocked(file) != s) return nullptr;
  s->state = State::kIdle;
  const bool holds = s->bytes >= count && s->changes == write_back_.content_changes() &&
                     Clock::now() - s->read_at <= max_age_;
  if (!holds) return nullptr;
  return s->buffer;
}

void ReadAhead::Served(const std::shared_ptr<vaultcore::EncryptedFile>& file, uint64_t offset,
                       size_t length, vaultcore::WorkSharing* sharing) {
  if (max_age_.count() <= 0 || length == 0 || sharing == nullptr) return;
  std::unique_lock lock(mutex_);
  Stream* s = FindLocked(file);
  const bool continues = s != nullptr && s->next_offset == offset;
  if (s == nullptr) {
    s = ClaimLocked();
    if (s == nullptr) return;
    s->file = file;
    s->state = State::kIdle;  // a task still queued for the last file finds nothing to do
  }
  s->next_offset = offset + length;
  s->last_used = ++served_;
  if (!continues || s->state == State::kReading) return;

  // The last Take's caller may still be copying out of the buffer; the
  // count cannot rise meanwhile, as only Take hands out copies (under the
  // lock). The fence pairs with the release of the caller's copy.
  if (s->buffer.use_count() > 1) return;
  std::atomic_thread_fence(std::memory_order_acquire);
  s->state = State::kQueued;
  s->offset = offset + length;
  s->length = length;
  const uint64_t ticket = s->ticket = ++tickets_;
  ++tasks_in_pool_;
  lock.unlock();
  if (sharing->StartIfIdle([this, s, ticket] { Run(*s, ticket); })) return;
  lock.lock();
  --tasks_in_pool_;
  if (s->ticket == ticket && s->state == State::kQueued) s->state = State::kIdle;
  finished_.notify_all();
}

void ReadAhead::Run(Stream& stream, uint64_t ticket) {
  std::unique_lock lock(mutex_);
  const bool wanted = stream.ticket == ticket && stream.state == State::kQueued;
  const std::shared_ptr<vaultcore::EncryptedFile> file = wanted ? stream.file.lock() : nullptr;
  if (file != nullptr) {
    stream.state = State::kReading;
    stream.changes = write_back_.content_changes();  // before the read: see the header
    stream.read_at = Clock::now();
    if (stream.capacity < stream.length) {  // allocated here: only a read-ahead that runs needs it
      stream.buffer = std::make_shared_for_overwrite<uint8_t[]>(stream.length);
      stream.capacity = stream.length;
    }
    const std::span<uint8_t> room(stream.buffer.get(), stream.length);
    const uint64_t offset = stream.offset;
    lock.unlock();
    auto read = write_back_.Read(file, offset, room);
    lock.lock();
    stream.state = read.ok() ? State::kReady : State::kIdle;
    stream.bytes = read.ok() ? *read : 0;
  } else if (wanted) {
    stream.state = State::kIdle;  // the file was let go of: nobody can READ it
  }
  --tasks_in_pool_;
  finished_.notify_all();
}

size_t ReadAhead::held_bytes() const {
  std::lock_guard lock(mutex_);
  size_t held = 0;
  for (const Stream& s : streams_) held += s.capacity;
  return held;
}

}  // namespace server
