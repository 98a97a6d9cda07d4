// Random-access reads and writes of one encrypted file (spec §7): any byte
// range is read by decrypting only the chunks it touches, writes re-encrypt
// only the chunks they change (read-modify-write at the edges, zero fill
// over gaps), and truncation shrinks or grows.
//
// An EncryptedFile owns its file descriptor. It is safe to share between
// threads: reads run in parallel, writes and truncation exclusively. Two
// EncryptedFile objects on the same ciphertext would race in their
// read-modify-write, so callers share one (Vault::OpenFile does).
// The ContentCryptor must outlive the file.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>

#include "vaultcore/attribute_cache.h"
#include "vaultcore/content_cryptor.h"
#include "vaultcore/status.h"

namespace vaultcore {

class EncryptedFile {
 public:
  enum class Mode { kReadOnly, kReadWrite };

  // Opens an existing ciphertext file. A 0-byte file is an empty file
  // whose header is written by the first modification.
  static Result<std::unique_ptr<EncryptedFile>> Open(const ContentCryptor& cryptor,
                                                     std::string path, Mode mode);

  // Creates `path` (O_EXCL) holding just a fresh header: an empty file.
  static Result<std::unique_ptr<EncryptedFile>> Create(const ContentCryptor& cryptor,
                                                       std::string path, uint32_t mode);

  ~EncryptedFile();
  EncryptedFile(const EncryptedFile&) = delete;
  // Every Write and Truncate from now on is a change `cache` must hear of,
  // as a change of the file `fileid` (this file's inode); the cache must
  // outlive this file.
  void ReportChangesTo(AttributeCache* cache, uint64_t fileid) {
    changes_ = cache;
    fileid_ = fileid;
  }
  EncryptedFile& operator=(const EncryptedFile&) = delete;

  // Cleartext size, from the ciphertext size on disk now (so a change made
  // by another process is seen). Errc::kCorrupt for an impossible size.
  Result<uint64_t> Size() const;

  // Reads up to out.size() bytes at `offset` into `out`, stopping at end of
  // file; returns how many. Errc::kCorrupt (naming the file and chunk) if
  // any chunk fails authentication: then no byte of `out` is meaningful.
  Result<size_t> Read(uint64_t offset, std::span<uint8_t> out) const;

  // Writes `data` at `offset`; a gap past the end is filled with zeros.
  Status Write(uint64_t offset, std::span<const uint8_t> data);

  // The old content of chunk `index` (which must exist), for a caller that
  // merges a partial write into it: decrypts the chunk into the front of
  // `out`, which must hold it (its length on disk). False, with `out` zeros,
  // when the chunk fails authentication: a crash tore it, or it was
  // damaged, and its bytes are lost unless writes replace them all. An
  // unreadable header or an I/O error is an error.
  Result<bool> ReadChunkForRewrite(uint64_t index, std::span<uint8_t> out) const;

  // A crash while the file grew can leave it ending part way into a chunk
  // that fails authentication. Write would read that chunk to extend it
  // (and fail); this pads its ciphertext to a whole chunk instead, so that
  // chunks after it can be written. It stays unreadable, as it was, until
  // a write replaces it whole. False, changing nothing, when the file ends
  // on a chunk boundary or its last chunk authenticates.
  Result<bool> PadUnreadableTail();
  // A crash can also cut the file within the first bytes of a new last
  // chunk, before any cleartext (Size then fails: the size is impossible).
  // Those bytes hold nothing: this drops them. False, changing nothing,
  // when the file does not end so.
  Result<bool> DropTornFragment();

  // A write of whole chunks in two steps, so that the encryption (the slow
  // part) runs without the file's lock and writers of one file encrypt in
  // parallel. Seal encrypts `data` as the chunks from `offset` (a multiple
  // of the chunk size) on, the last one short if `data` ends mid-chunk,
  // into the front of `out`, which must hold SealedSize(data.size())
  // bytes. It creates the file's header if there is none, and changes
  // nothing else.
  Status Seal(uint64_t offset, std::span<const uint8_t> data, std::span<uint8_t> out);
  size_t SealedSize(size_t length) const;
  // Then puts what Seal made of `length` bytes at `offset` in place, if it
  // can stand on its own in the file as it is now: no gap before `offset`,
  // and a short last chunk only as the file's last. Returns false, having
  // changed nothing, when it cannot; the caller then writes the cleartext
  // with Write.
  Result<bool> WriteSealed(uint64_t offset, uint64_t length, std::span<const uint8_t> sealed);

  // Shrinks or grows (with zeros) to `size` cleartext bytes.
  Status Truncate(uint64_t size);

  // fdatasync(2) of the ciphertext.
  Status Sync();

  const std::string& path() const { return path_; }
  int fd() const { return fd_; }
  // The header nonce; nullopt while the file has no header (0 bytes).
  std::optional<std::array<uint8_t, 16>> header_nonce() const;

 private:
  EncryptedFile(const ContentCryptor& cryptor, std::string path, int fd, bool writable);

  Status LoadHeader();
  Status EnsureHeader();
  // Writes a new header into the empty file.
  Status WriteNewHeader();
  // LoadHeader for a reader: takes the lock exclusively only when the
  // header is not loaded yet. The caller must not hold the lock.
  Status EnsureHeaderLoaded() const;
  Result<uint64_t> SizeLocked() const;
  // Rewrites every chunk from the one holding min(offset, old size) to the
  // end of the write: `data` at `offset`, zeros in any gap, existing bytes
  // elsewhere; the file ends at max(old size, new_size_floor, offset+len).
  Status Rewrite(uint64_t old_size, uint64_t offset, std::span<const uint8_t> data,
                 uint64_t new_size);
  // Decrypts chunk `index` (which must exist) into `out`; returns its size.
  Result<size_t> ReadChunk(uint64_t index, uint64_t cleartext_size, std::span<uint8_t> out) const;
  Status CorruptChunk(uint64_t index) const;

  const ContentCryptor& cryptor_;
  const std::string path_;
  const int fd_;
  const bool writable_;
  mutable std::shared_mutex mutex_;
  // nullopt until loaded or created, under mutex_ held exclusively; never
  // changes after that, so Seal reads it without the lock.
  std::optional<FileHeader> header_;
  AttributeCache* changes_ = nullptr;
  uint64_t fileid_ = 0;
};

// Reads a whole small encrypted file (dirid.c9r, symlink.c9r) as a stream:
// unlike a regular file, a final empty chunk is accepted (spec §6.3).
Result<std::string> ReadSmallEncryptedFile(const ContentCryptor& cryptor, const std::string& path,
                                           size_t max_size);

// Encrypts `content` into a new file at `path` (O_EXCL), header and chunks;
// with `final_empty_chunk` a chunk-aligned content (including empty) gets
// an empty final chunk, as cryptolib's streaming encryptor writes it.
Status WriteSmallEncryptedFile(const ContentCryptor& cryptor, const std::string& path,
                               std::string_view content, bool final_empty_chunk);

}  // namespace vaultcore
