#include "vaultcore/encrypted_file.h"

#include "vaultcore/codec.h"
#include "vaultcore/work_sharing.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <mutex>
#include <vector>

namespace vaultcore {
namespace {

// Per-thread scratch space, reused across calls so the hot path does not
// allocate: one for a run of ciphertext chunks, one for a single chunk's
// cleartext, one for a single chunk's ciphertext (the read-modify-write of
// a partial chunk while the run buffer holds the batch being written).
std::vector<uint8_t>& ThreadCiphertextBuffer(size_t size) {
  thread_local std::vector<uint8_t> buffer;
  if (buffer.size() < size) buffer.resize(size);
  return buffer;
}

std::span<uint8_t> ThreadChunkBuffer() {
  thread_local std::vector<uint8_t> buffer(kCleartextChunkSize);
  return buffer;
}

// Large enough for a chunk of either cipher combo (CTRMAC: 48 bytes overhead).
std::span<uint8_t> ThreadChunkCiphertextBuffer() {
  thread_local std::vector<uint8_t> buffer(kCleartextChunkSize + 64);
  return buffer;
}

// Chunks encrypted per pwrite when rewriting a range.
constexpr uint64_t kChunksPerBatch = 32;

// Fewer chunks than this are decrypted or encrypted in place: sharing
// costs a hand-off, and a small READ (4 KiB) touches one or two chunks.
constexpr size_t kMinChunksToShare = 4;

// part(i) for every i in [0, count), through the thread's WorkSharing when
// it has one and there are enough chunks to be worth it.
template <typename Part>
void ForEachChunk(size_t count, const Part& part) {
  WorkSharing* sharing = WorkSharing::Current();
  if (sharing != nullptr && count >= kMinChunksToShare) {
    sharing->ForEach(count, std::cref(part));  // a reference: no allocation
    return;
  }
  for (size_t i = 0; i < count; ++i) part(i);
}

Status PreadFully(int fd, std::span<uint8_t> out, uint64_t offset, const std::string& path,
                  size_t* got) {
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n =
        pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "read " + path);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  *got = done;
  return Status::Ok();
}

Status PwriteFully(int fd, std::span<const uint8_t> data, uint64_t offset,
                   const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n =
        pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "write " + path);
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

EncryptedFile::EncryptedFile(const ContentCryptor& cryptor, std::string path, int fd, bool writable)
    : cryptor_(cryptor), path_(std::move(path)), fd_(fd), writable_(writable) {
  // glibc's default rwlock prefers readers: while reads keep overlapping
  // (several NFS clients streaming one file) a writer would wait forever.
  // Make waiting writers block new readers. No code path takes the shared
  // lock twice in one thread, so the non-recursive kind is safe.
  // (libstdc++'s shared_mutex is a pthread_rwlock_t behind native_handle().)
#if defined(_GLIBCXX_USE_PTHREAD_RWLOCK_T) && _GLIBCXX_USE_PTHREAD_RWLOCK_T
  auto* rwlock = static_cast<pthread_rwlock_t*>(mutex_.native_handle());
  pthread_rwlockattr_t attr;
  pthread_rwlockattr_init(&attr);
  pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  pthread_rwlock_destroy(rwlock);
  pthread_rwlock_init(rwlock, &attr);
  pthread_rwlockattr_destroy(&attr);
#endif
}

EncryptedFile::~EncryptedFile() { close(fd_); }

Result<std::unique_ptr<EncryptedFile>> EncryptedFile::Open(const ContentCryptor& cryptor,
                                                           std::string path, Mode mode) {
  const bool writable = mode == Mode::kReadWrite;
  const int fd = open(path.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open " + path);
  std::unique_ptr<EncryptedFile> file(new EncryptedFile(cryptor, std::move(path), fd, writable));
  Status s = file->LoadHeader();
  if (!s.ok()) return s;
  return file;
}

Result<std::unique_ptr<EncryptedFile>> EncryptedFile::Create(const ContentCryptor& cryptor,
                                                             std::string path, uint32_t mode) {
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::FromErrno(errno, "create " + path);
  std::unique_ptr<EncryptedFile> file(new EncryptedFile(cryptor, std::move(path), fd, true));
  Status s = file->WriteNewHeader();  // O_EXCL: the file is new, and empty
  if (!s.ok()) {
    unlink(file->path_.c_str());
    return s;
  }
  return file;
}

Status EncryptedFile::LoadHeader() {
  struct stat st;
  if (fstat(fd_, &st) != 0) return Status::FromErrno(errno, "stat " + path_);
  if (st.st_size == 0) return Status::Ok();  // no header yet: an empty file
  std::vector<uint8_t> raw(cryptor_.header_size());
  size_t got = 0;
  Status s = PreadFully(fd_, raw, 0, path_, &got);
  if (!s.ok()) return s;
  if (got < raw.size()) return Status(Errc::kCorrupt, path_ + ": file header is truncated");
  auto header = cryptor_.DecryptHeader(raw);
  if (!header.ok()) return Status(Errc::kCorrupt, path_ + ": " + header.status().message());
  header_ = std::move(header).value();
  return Status::Ok();
}

Status EncryptedFile::EnsureHeader() {
  if (header_) return Status::Ok();
  struct stat st;
  if (fstat(fd_, &st) != 0) return Status::FromErrno(errno, "stat " + path_);
  if (st.st_size != 0) return LoadHeader();  // another writer created it meanwhile
  return WriteNewHeader();
}

Status EncryptedFile::WriteNewHeader() {
  auto header = cryptor_.NewHeader();
  if (!header.ok()) return header.status();
  std::vector<uint8_t> raw(cryptor_.header_size());
  Status s = cryptor_.EncryptHeader(*header, raw);
  if (s.ok()) s = PwriteFully(fd_, raw, 0, path_);
  if (!s.ok()) return s;
  header_ = std::move(header).value();
  return Status::Ok();
}

std::optional<std::array<uint8_t, 16>> EncryptedFile::header_nonce() const {
  std::shared_lock lock(mutex_);
  if (!header_) return std::nullopt;
  return header_->nonce;
}

Result<uint64_t> EncryptedFile::SizeLocked() const {
  struct stat st;
  if (fstat(fd_, &st) != 0) return Status::FromErrno(errno, "stat " + path_);
  auto size = cryptor_.CleartextSize(static_cast<uint64_t>(st.st_size));
  if (!size) {
    return Status(Errc::kCorrupt, path_ + ": ciphertext size " + std::to_string(st.st_size) +
                                      " is impossible (truncated chunk)");
  }
  return *size;
}

Result<uint64_t> EncryptedFile::Size() const {
  std::shared_lock lock(mutex_);
  return SizeLocked();
}

Status EncryptedFile::CorruptChunk(uint64_t index) const {
  return Status(Errc::kCorrupt,
                path_ + ": chunk " + std::to_string(index) + " failed authentication");
}

Status EncryptedFile::EnsureHeaderLoaded() const {
  {
    std::shared_lock lock(mutex_);
    if (header_) return Status::Ok();
  }
  std::unique_lock lock(mutex_);
  if (header_) return Status::Ok();
  return const_cast<EncryptedFile*>(this)->LoadHeader();
}

Result<size_t> EncryptedFile::Read(uint64_t offset, std::span<uint8_t> out) const {
  std::shared_lock lock(mutex_);
  auto size = SizeLocked();
  if (!size.ok()) return size.status();
  if (offset >= *size || out.empty()) return size_t{0};
  if (!header_) {
    // Written by someone else since we opened it: load the header once.
    lock.unlock();
    Status s = EnsureHeaderLoaded();
    if (!s.ok()) return s;
    return Read(offset, out);
  }

  const uint64_t n = std::min<uint64_t>(out.size(), *size - offset);
  const uint64_t chunk_ct = cryptor_.ciphertext_chunk_size();
  const uint64_t first = offset / kCleartextChunkSize;
  const uint64_t last = (offset + n - 1) / kCleartextChunkSize;
  const uint64_t pos = cryptor_.header_size() + first * chunk_ct;
  const uint64_t want = (last - first + 1) * chunk_ct;

  std::vector<uint8_t>& ciphertext = ThreadCiphertextBuffer(want);
  size_t got = 0;
  Status s = PreadFully(fd_, std::span(ciphertext).first(want), pos, path_, &got);
  if (!s.ok()) return s;

  // GCM decrypts before it checks the tag, so a failed chunk leaves
  // unauthenticated plaintext in `out`: wipe the whole buffer on failure so
  // no caller can ever pass it on (spec §7.4, §10.7).
  constexpr uint64_t kNoFailure = ~uint64_t{0};
  std::atomic<uint64_t> failed_chunk{kNoFailure};
  std::atomic<size_t> written{0};
  ForEachChunk(last - first + 1, [&](size_t k) {
    const uint64_t i = first + k;
    const size_t at = k * chunk_ct;
    if (at >= got || got - at <= cryptor_.chunk_overhead()) {
      failed_chunk.store(i, std::memory_order_relaxed);
      return;
    }
    const size_t chunk_len = std::min<size_t>(chunk_ct, got - at);
    const std::span<const uint8_t> chunk(ciphertext.data() + at, chunk_len);
    const size_t plain_len = chunk_len - cryptor_.chunk_overhead();
    const uint64_t chunk_start = i * kCleartextChunkSize;
    const uint64_t from = std::max(offset, chunk_start) - chunk_start;
    const uint64_t to = std::min<uint64_t>(offset + n - chunk_start, plain_len);
    if (to <= from) {  // shorter than the size said: cut by another process meanwhile
      failed_chunk.store(i, std::memory_order_relaxed);
      return;
    }
    // Only the last chunk can be short, so this chunk's bytes belong here.
    const std::span<uint8_t> dest = out.subspan(chunk_start + from - offset, to - from);
    if (from == 0 && to == plain_len) {
      // The whole chunk is wanted: decrypt straight into the caller's buffer.
      if (!cryptor_.DecryptChunk(*header_, i, chunk, dest).ok()) {
        failed_chunk.store(i, std::memory_order_relaxed);
        return;
      }
    } else {
      std::span<uint8_t> plain = ThreadChunkBuffer();
      if (!cryptor_.DecryptChunk(*header_, i, chunk, plain).ok()) {
        failed_chunk.store(i, std::memory_order_relaxed);
        return;
      }
      std::memcpy(dest.data(), plain.data() + from, dest.size());
    }
    written.fetch_add(dest.size(), std::memory_order_relaxed);
  });
  if (const uint64_t failed = failed_chunk.load(); failed != kNoFailure) {
    std::memset(out.data(), 0, out.size());
    return CorruptChunk(failed);
  }
  return written.load();
}

Result<size_t> EncryptedFile::ReadChunk(uint64_t index, uint64_t cleartext_size,
                                        std::span<uint8_t> out) const {
  const uint64_t chunk_start = index * kCleartextChunkSize;
  const size_t plain_len = std::min<uint64_t>(kCleartextChunkSize, cleartext_size - chunk_start);
  const std::span<uint8_t> chunk =
      ThreadChunkCiphertextBuffer().first(plain_len + cryptor_.chunk_overhead());
  size_t got = 0;
  Status s = PreadFully(
      fd_, chunk, cryptor_.header_size() + index * cryptor_.ciphertext_chunk_size(), path_, &got);
  if (!s.ok()) return s;
  if (got != chunk.size() || !cryptor_.DecryptChunk(*header_, index, chunk, out).ok()) {
    return CorruptChunk(index);
  }
  return plain_len;
}

Status EncryptedFile::Rewrite(uint64_t old_size, uint64_t offset, std::span<const uint8_t> data,
                              uint64_t new_size) {
  // The rewrite ends at `offset + data.size()`: a grow passes `offset` =
  // new size and no data. Chunks past it hold only old bytes and stay.
  const uint64_t data_end = offset + data.size();
  if (data_end == 0) return Status::Ok();
  const uint64_t first = std::min(offset, old_size) / kCleartextChunkSize;
  const uint64_t last_touched = (data_end - 1) / kCleartextChunkSize;
  const uint64_t chunk_ct = cryptor_.ciphertext_chunk_size();

  const size_t overhead = cryptor_.chunk_overhead();
  for (uint64_t batch = first; batch <= last_touched; batch += kChunksPerBatch) {
    const uint64_t batch_last = std::min(last_touched, batch + kChunksPerBatch - 1);
    std::vector<uint8_t>& out = ThreadCiphertextBuffer((batch_last - batch + 1) * chunk_ct);
    std::mutex error_mutex;
    Status error;
    auto fail = [&](Status s) {
      std::lock_guard lock(error_mutex);
      if (error.ok()) error = std::move(s);
    };
    ForEachChunk(batch_last - batch + 1, [&](size_t k) {
      const uint64_t i = batch + k;
      const uint64_t chunk_start = i * kCleartextChunkSize;
      const uint64_t chunk_end = std::min(chunk_start + kCleartextChunkSize, new_size);
      const size_t len = chunk_end - chunk_start;
      std::span<const uint8_t> source;
      if (offset <= chunk_start && data_end >= chunk_end) {
        source = data.subspan(chunk_start - offset, len);  // fully overwritten: no read
      } else {
        std::span<uint8_t> plain = ThreadChunkBuffer();
        size_t existing = 0;
        if (chunk_start < old_size) {
          auto got = ReadChunk(i, old_size, plain);
          if (!got.ok()) return fail(got.status());
          existing = *got;
        }
        if (existing < len) std::memset(plain.data() + existing, 0, len - existing);
        if (data_end > chunk_start && offset < chunk_end) {
          const uint64_t from = std::max(offset, chunk_start);
          const uint64_t to = std::min(data_end, chunk_end);
          std::memcpy(plain.data() + (from - chunk_start), data.data() + (from - offset),
                      to - from);
        }
        source = plain.first(len);
      }
      Status s = cryptor_.EncryptChunk(*header_, i, source,
                                       std::span(out).subspan(k * chunk_ct, len + overhead));
      if (!s.ok()) fail(std::move(s));
    });
    if (!error.ok()) return error;
    // Only the batch's last chunk may be short (the file's last chunk).
    const uint64_t last_start = batch_last * kCleartextChunkSize;
    const size_t last_len = std::min(last_start + kCleartextChunkSize, new_size) - last_start;
    const size_t out_len = (batch_last - batch) * chunk_ct + last_len + overhead;
    Status s = PwriteFully(fd_, std::span(out).first(out_len),
                           cryptor_.header_size() + batch * chunk_ct, path_);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status EncryptedFile::Write(uint64_t offset, std::span<const uint8_t> data) {
  if (!writable_) return Status(Errc::kPermission, path_ + " is open read-only");
  if (data.empty()) return Status::Ok();
  if (offset + data.size() < offset) return Status(Errc::kFileTooBig, "write past 2^64");
  const AttributeCache::ChangeScope change(changes_, fileid_);
  std::unique_lock lock(mutex_);
  Status s = EnsureHeader();
  if (!s.ok()) return s;
  auto old_size = SizeLocked();
  if (!old_size.ok()) return old_size.status();
  return Rewrite(*old_size, offset, data, std::max(*old_size, offset + data.size()));
}

Result<bool> EncryptedFile::ReadChunkForRewrite(uint64_t index, std::span<uint8_t> out) const {
  Status s = EnsureHeaderLoaded();
  if (!s.ok()) return s;
  std::shared_lock lock(mutex_);
  auto size = SizeLocked();
  if (!size.ok()) return size.status();
  if (index >= (*size + kCleartextChunkSize - 1) / kCleartextChunkSize) {
    return Status(Errc::kInvalidArgument, path_ + ": no chunk " + std::to_string(index));
  }
  auto got = ReadChunk(index, *size, out);
  if (got.ok()) return true;
  if (got.status().code() != Errc::kCorrupt) return got.status();
  // Unauthenticated plaintext must not outlive the failed check.
  std::memset(out.data(), 0, std::min(out.size(), kCleartextChunkSize));
  return false;
}

Result<bool> EncryptedFile::PadUnreadableTail() {
  if (!writable_) return Status(Errc::kPermission, path_ + " is open read-only");
  const AttributeCache::ChangeScope change(changes_, fileid_);
  std::unique_lock lock(mutex_);
  auto size = SizeLocked();
  if (!size.ok()) return size.status();
  if (*size % kCleartextChunkSize == 0) return false;
  if (!header_) {
    Status s = LoadHeader();
    if (!s.ok()) return s;
  }
  const uint64_t index = *size / kCleartextChunkSize;
  const std::span<uint8_t> plain = ThreadChunkBuffer();
  auto got = ReadChunk(index, *size, plain);
  std::memset(plain.data(), 0, plain.size());
  if (got.ok()) return false;
  if (got.status().code() != Errc::kCorrupt) return got.status();
  const uint64_t padded = cryptor_.header_size() + (index + 1) * cryptor_.ciphertext_chunk_size();
  if (ftruncate(fd_, static_cast<off_t>(padded)) != 0) {
    return Status::FromErrno(errno, "pad " + path_);
  }
  return true;
}

Result<bool> EncryptedFile::DropTornFragment() {
  if (!writable_) return Status(Errc::kPermission, path_ + " is open read-only");
  const AttributeCache::ChangeScope change(changes_, fileid_);
  std::unique_lock lock(mutex_);
  struct stat st;
  if (fstat(fd_, &st) != 0) return Status::FromErrno(errno, "stat " + path_);
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size < cryptor_.header_size()) return false;
  const uint64_t rest = (size - cryptor_.header_size()) % cryptor_.ciphertext_chunk_size();
  if (rest == 0 || rest > cryptor_.chunk_overhead()) return false;
  if (ftruncate(fd_, static_cast<off_t>(size - rest)) != 0) {
    return Status::FromErrno(errno, "truncate " + path_);
  }
  return true;
}

size_t EncryptedFile::SealedSize(size_t length) const {
  return cryptor_.CiphertextSize(length) - cryptor_.header_size();
}

Status EncryptedFile::Seal(uint64_t offset, std::span<const uint8_t> data, std::span<uint8_t> out) {
  if (!writable_) return Status(Errc::kPermission, path_ + " is open read-only");
  if (offset % kCleartextChunkSize != 0 || data.empty() || out.size() < SealedSize(data.size())) {
    return Status(Errc::kInvalidArgument, path_ + ": a sealed write must start a chunk");
  }
  bool have_header;
  {
    std::shared_lock lock(mutex_);
    have_header = header_.has_value();
  }
  if (!have_header) {
    std::unique_lock lock(mutex_);
    Status s = EnsureHeader();
    if (!s.ok()) return s;
  }
  const uint64_t first = offset / kCleartextChunkSize;
  const size_t count = (data.size() + kCleartextChunkSize - 1) / kCleartextChunkSize;
  const size_t chunk_ct = cryptor_.ciphertext_chunk_size();
  std::atomic<bool> failed{false};
  ForEachChunk(count, [&](size_t k) {
    const size_t begin = k * kCleartextChunkSize;
    const auto chunk = data.subspan(begin, std::min(kCleartextChunkSize, data.size() - begin));
    const auto sealed = out.subspan(k * chunk_ct, chunk.size() + cryptor_.chunk_overhead());
    if (!cryptor_.EncryptChunk(*header_, first + k, chunk, sealed).ok()) {
      failed.store(true, std::memory_order_relaxed);
    }
  });
  if (failed.load()) return Status(Errc::kIo, path_ + ": chunk encryption failed");
  return Status::Ok();
}

Result<bool> EncryptedFile::WriteSealed(uint64_t offset, uint64_t length,
                                        std::span<const uint8_t> sealed) {
  if (!writable_) return Status(Errc::kPermission, path_ + " is open read-only");
  if (sealed.size() != SealedSize(length) || offset % kCleartextChunkSize != 0) {
    return Status(Errc::kInvalidArgument, path_ + ": not a sealed write");
  }
  const AttributeCache::ChangeScope change(changes_, fileid_);
  std::unique_lock lock(mutex_);
  if (!header_) return Status(Errc::kInvalidArgument, path_ + ": sealed before it had a header");
  auto size = SizeLocked();
  if (!size.ok()) return size.status();
  const uint64_t end = offset + length;
  // A gap would be chunks nobody wrote; a short chunk before the end, a
  // file that cannot be read.
  if (offset > *size || (end % kCleartextChunkSize != 0 && end < *size)) return false;
  Status s = PwriteFully(
      fd_, sealed,
      cryptor_.header_size() + offset / kCleartextChunkSize * cryptor_.ciphertext_chunk_size(),
      path_);
  if (!s.ok()) return s;
  return true;
}

Status EncryptedFile::Truncate(uint64_t size) {
  if (!writable_) return Status(Errc::kPermission, path_ + " is open read-only");
  const AttributeCache::ChangeScope change(changes_, fileid_);
  std::unique_lock lock(mutex_);
  Status s = EnsureHeader();
  if (!s.ok()) return s;
  auto old_size = SizeLocked();
  if (!old_size.ok()) return old_size.status();
  if (size == *old_size) return Status::Ok();
  if (size > *old_size) return Rewrite(*old_size, size, {}, size);

  const uint64_t tail = size % kCleartextChunkSize;
  if (tail != 0) {
    // Re-encrypt the new last chunk with just its first `tail` bytes.
    const uint64_t index = size / kCleartextChunkSize;
    std::span<uint8_t> plain = ThreadChunkBuffer();
    auto got = ReadChunk(index, *old_size, plain);
    if (!got.ok()) return got.status();
    const std::span<uint8_t> chunk =
        ThreadChunkCiphertextBuffer().first(tail + cryptor_.chunk_overhead());
    s = cryptor_.EncryptChunk(*header_, index, plain.first(tail), chunk);
    if (s.ok()) {
      s = PwriteFully(fd_, chunk, cryptor_.header_size() + index * cryptor_.ciphertext_chunk_size(),
                      path_);
    }
    if (!s.ok()) return s;
  }
  if (ftruncate(fd_, static_cast<off_t>(cryptor_.CiphertextSize(size))) != 0) {
    return Status::FromErrno(errno, "truncate " + path_);
  }
  return Status::Ok();
}

Status EncryptedFile::Sync() {
  if (fdatasync(fd_) != 0) return Status::FromErrno(errno, "fsync " + path_);
  return Status::Ok();
}

Result<std::string> ReadSmallEncryptedFile(const ContentCryptor& cryptor, const std::string& path,
                                           size_t max_size) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open " + path);
  std::vector<uint8_t> raw(cryptor.CiphertextSize(max_size) + cryptor.chunk_overhead() + 1);
  size_t got = 0;
  Status s = PreadFully(fd, raw, 0, path, &got);
  close(fd);
  if (!s.ok()) return s;
  if (got == raw.size()) return Status(Errc::kCorrupt, path + " is larger than expected");
  if (got == 0) return std::string();
  auto header = cryptor.DecryptHeader(std::span(raw).first(got));
  if (!header.ok()) return Status(Errc::kCorrupt, path + ": " + header.status().message());
  std::string content;
  std::vector<uint8_t> plain(kCleartextChunkSize);
  uint64_t index = 0;
  for (size_t at = cryptor.header_size(); at < got; ++index) {
    const size_t len = std::min(cryptor.ciphertext_chunk_size(), got - at);
    if (len < cryptor.chunk_overhead() ||
        !cryptor.DecryptChunk(*header, index, std::span(raw).subspan(at, len), plain).ok()) {
      return Status(Errc::kCorrupt,
                    path + ": chunk " + std::to_string(index) + " failed authentication");
    }
    content.append(reinterpret_cast<const char*>(plain.data()), len - cryptor.chunk_overhead());
    at += len;
  }
  return content;
}

Status WriteSmallEncryptedFile(const ContentCryptor& cryptor, const std::string& path,
                               std::string_view content, bool final_empty_chunk) {
  auto header = cryptor.NewHeader();
  if (!header.ok()) return header.status();
  std::vector<uint8_t> raw(cryptor.CiphertextSize(content.size()) + cryptor.chunk_overhead());
  Status s = cryptor.EncryptHeader(*header, raw);
  size_t at = cryptor.header_size();
  uint64_t index = 0;
  const auto bytes = AsBytes(content);
  for (size_t done = 0; s.ok() && done < bytes.size(); ++index) {
    const size_t len = std::min<size_t>(kCleartextChunkSize, bytes.size() - done);
    s = cryptor.EncryptChunk(*header, index, bytes.subspan(done, len),
                             std::span(raw).subspan(at, len + cryptor.chunk_overhead()));
    done += len;
    at += len + cryptor.chunk_overhead();
  }
  if (s.ok() && final_empty_chunk && content.size() % kCleartextChunkSize == 0) {
    s = cryptor.EncryptChunk(*header, index, {},
                             std::span(raw).subspan(at, cryptor.chunk_overhead()));
    at += cryptor.chunk_overhead();
  }
  if (!s.ok()) return s;
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno(errno, "create " + path);
  s = PwriteFully(fd, std::span(raw).first(at), 0, path);
  close(fd);
  if (!s.ok()) unlink(path.c_str());
  return s;
}

}  // namespace vaultcore
