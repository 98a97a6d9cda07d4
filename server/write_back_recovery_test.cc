// WriteBackBuffer after a crash: the file on disk may end in a chunk torn
// while it was written (its ciphertext cut short, failing authentication),
// and the client resends everything it has not seen committed, in pieces
// that need not match the chunks. The buffer must take those writes, write
// what it can around the torn chunk, and never show or invent its lost
// bytes (write_back.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <string>

#include "server/write_back_test_fixture.h"

namespace server::write_back_testing {
namespace {

// A piece size that is neither a chunk nor divides one: resent pieces
// start and end inside chunks.
constexpr size_t kPiece = 20 * 1024;

class WriteBackRecoveryTest : public WriteBackTest {
 protected:
  // A file holding the first `chunks` chunks of `model` and then, torn
  // after `torn_bytes` of its ciphertext, chunk `chunks`: what a crash
  // leaves while the server appends. Opened afresh, as after a restart.
  FilePtr TornFile(const Bytes& model, uint64_t chunks, uint64_t torn_bytes) {
    FilePtr writer = Create();
    if (writer == nullptr) return nullptr;
    EXPECT_TRUE(IsOk(writer->Write(0, std::span(model).first((chunks + 1) * kChunk))));
    const std::string path = writer->path();
    writer.reset();
    std::filesystem::resize_file(
        path, cryptor_->header_size() + chunks * cryptor_->ciphertext_chunk_size() + torn_bytes);
    return Open(path, EncryptedFile::Mode::kReadWrite);
  }

  // Writes model[from, to) in pieces of `piece` bytes, as a client resends
  // it, and as the server's WRITE writes: a piece the buffer acknowledges
  // before it lands then lands at once.
  static void Resend(WriteBackBuffer& buffer, const FilePtr& file, const Bytes& model,
                     uint64_t from, uint64_t to, uint64_t piece_size = kPiece) {
    for (uint64_t at = from; at < to; at += piece_size) {
      const auto piece = std::span(model).subspan(at, std::min(piece_size, to - at));
      std::function<void()> later;
      ASSERT_TRUE(IsOk(buffer.Write(file, at, piece, &later))) << "at " << at;
      if (later) later();
    }
  }

  // COMMIT succeeds, the file on disk is `model`, and no flush ever lost
  // data on the way.
  void ExpectCommitted(WriteBackBuffer& buffer, const FilePtr& file, const Bytes& model) {
    ASSERT_TRUE(IsOk(buffer.Commit(file)));
    ExpectOnDisk(file->path(), model);
    EXPECT_EQ(buffer.failed_flushes(), 0u);
  }

  // Expects a read of [offset, offset + length) through the buffer to fail
  // as a torn chunk must, naming it.
  static void ExpectUnreadable(WriteBackBuffer& buffer, const FilePtr& file, uint64_t offset,
                               size_t length, uint64_t chunk) {
    Bytes out(length);
    auto n = buffer.Read(file, offset, out);
    ASSERT_FALSE(n.ok()) << "read at " << offset << " showed lost bytes";
    EXPECT_EQ(n.status().code(), Errc::kCorrupt);
    EXPECT_NE(n.status().message().find("chunk " + std::to_string(chunk)), std::string::npos)
        << n.status().ToString();
  }
};

// The Linux client resends from wherever its writeback stood, wrapping
// around: here from inside the torn chunk to the end, then from the start.
TEST_P(WriteBackRecoveryTest, ResentPiecesReplaceATornLastChunk) {
  const Bytes model = RandomBytes(10 * kChunk, rng_);
  FilePtr file = TornFile(model, 6, 9000);
  ASSERT_NE(file, nullptr);
  WriteBackBuffer buffer(NoIdle());
  const uint64_t resume = 6 * kChunk + 12 * 1024;
  Resend(buffer, file, model, resume, model.size());
  ExpectUnreadable(buffer, file, 6 * kChunk, 100, 6);
  Resend(buffer, file, model, 0, resume);
  ExpectBuffered(buffer, file, model);
  ExpectCommitted(buffer, file, model);
}

// Cut within the first bytes of a chunk, before any of its cleartext, the
// file has an impossible size: the first write drops the fragment.
TEST_P(WriteBackRecoveryTest, ResentPiecesRepairAFileCutInAChunksOverhead) {
  const Bytes model = RandomBytes(10 * kChunk + 300, rng_);
  FilePtr file = TornFile(model, 6, 10);
  ASSERT_NE(file, nullptr);
  WriteBackBuffer buffer(NoIdle());
  const uint64_t resume = 6 * kChunk + 12 * 1024;
  Resend(buffer, file, model, resume, model.size());
  Resend(buffer, file, model, 0, resume);
  ExpectCommitted(buffer, file, model);
}

// With a small buffer, pressure writes the chunks after the torn one out
// before the client gets back to it: the torn chunk is padded, never read
// as if it held data, and stays buffered until its bytes are all back.
TEST_P(WriteBackRecoveryTest, PressureWritesAroundATornChunkThatWaitsForItsBytes) {
  const Bytes model = RandomBytes(40 * kChunk, rng_);
  FilePtr file = TornFile(model, 6, 20000);
  ASSERT_NE(file, nullptr);
  WriteBackBuffer buffer(NoIdle(8 * kChunk));
  const uint64_t resume = 6 * kChunk + 8 * 1024;
  Resend(buffer, file, model, resume, model.size());
  EXPECT_GE(std::filesystem::file_size(file->path()), cryptor_->CiphertextSize(30 * kChunk))
      << "pressure wrote nothing past the torn chunk";
  ExpectUnreadable(buffer, file, 6 * kChunk, 100, 6);
  Resend(buffer, file, model, 0, resume);
  ExpectCommitted(buffer, file, model);
}

// Writes that start past a torn end of file leave it alone until a flush
// must reach past it: then it is padded, not read and extended.
TEST_P(WriteBackRecoveryTest, WritesPastATornEndPadItAndLaterReplaceIt) {
  const Bytes model = RandomBytes(40 * kChunk, rng_);
  FilePtr file = TornFile(model, 6, 15000);
  ASSERT_NE(file, nullptr);
  WriteBackBuffer buffer(NoIdle(8 * kChunk));
  Resend(buffer, file, model, 7 * kChunk, model.size(), 3 * kChunk);
  Resend(buffer, file, model, 0, 7 * kChunk);
  ExpectCommitted(buffer, file, model);
}

// Whole chunks streamed right after a torn chunk that waits for its bytes
// are encrypted unlocked (sealed). The first cannot land, as the file does
// not reach it, and is buffered; the next one's landing writes it out,
// padding the torn chunk, and the rest land as they come. The torn chunk
// is written once whole.
TEST_P(WriteBackRecoveryTest, SealedChunksLandAroundAWaitingTornChunk) {
  const Bytes model = RandomBytes(12 * kChunk, rng_);
  FilePtr file = TornFile(model, 6, 15000);
  ASSERT_NE(file, nullptr);
  WriteBackBuffer buffer(NoIdle());
  Resend(buffer, file, model, 6 * kChunk + 100, 7 * kChunk);
  Resend(buffer, file, model, 7 * kChunk, model.size(), kChunk);
  ExpectUnreadable(buffer, file, 6 * kChunk, 10, 6);
  Resend(buffer, file, model, 0, 6 * kChunk + 100);
  ExpectBuffered(buffer, file, model);
  ExpectCommitted(buffer, file, model);
}

// If the client never sends the torn chunk's first bytes again (they were
// committed before a crash tore the chunk in an append), they are lost:
// COMMIT says so, once, and everything else still reaches the disk.
TEST_P(WriteBackRecoveryTest, CommitReportsTheBytesNoWriteReplaced) {
  const Bytes model = RandomBytes(10 * kChunk, rng_);
  FilePtr file = TornFile(model, 6, 9000);
  ASSERT_NE(file, nullptr);
  WriteBackBuffer buffer(NoIdle());
  const uint64_t resume = 6 * kChunk + 12 * 1024;
  Resend(buffer, file, model, resume, model.size());
  Resend(buffer, file, model, 0, 3 * kChunk);

  const Status committed = buffer.Commit(file);
  EXPECT_EQ(committed.code(), Errc::kCorrupt) << committed.ToString();
  EXPECT_NE(committed.message().find("chunk 6"), std::string::npos) << committed.ToString();
  EXPECT_EQ(buffer.failed_flushes(), 1u);
  EXPECT_EQ(buffer.buffered_bytes(), 0u);
  EXPECT_TRUE(IsOk(buffer.Commit(file)));

  FilePtr reader = Open(file->path(), EncryptedFile::Mode::kReadOnly);
  ASSERT_NE(reader, nullptr);
  Bytes head(6 * kChunk);
  ASSERT_TRUE(IsOk(reader->Read(0, head)));
  EXPECT_TRUE(std::equal(head.begin(), head.end(), model.begin()));
  Bytes tail(3 * kChunk);
  ASSERT_TRUE(IsOk(reader->Read(7 * kChunk, tail)));
  EXPECT_TRUE(std::equal(tail.begin(), tail.end(), model.begin() + 7 * kChunk));
  Bytes lost(10);
  EXPECT_EQ(reader->Read(6 * kChunk, lost).status().code(), Errc::kCorrupt);
}

// The same holds for a damaged chunk inside the file; a truncation below
// it drops its wait, and a bounded share of the buffer may wait at all.
TEST_P(WriteBackRecoveryTest, DamagedChunksTakeWritesWithinABound) {
  Bytes model = RandomBytes(8 * kChunk, rng_);
  FilePtr file = Create();
  ASSERT_NE(file, nullptr);
  ASSERT_TRUE(IsOk(file->Write(0, model)));
  Damage(file->path(), 2);
  Damage(file->path(), 5);
  WriteBackBuffer buffer(NoIdle(4 * kChunk));  // a quarter: one chunk may wait

  WriteRandom(buffer, file, model, 2 * kChunk + 100, kChunk - 100);
  ExpectUnreadable(buffer, file, 2 * kChunk, 200, 2);
  Bytes readable(kChunk - 100);
  ASSERT_TRUE(IsOk(buffer.Read(file, 2 * kChunk + 100, readable)));
  EXPECT_TRUE(std::equal(readable.begin(), readable.end(), model.begin() + 2 * kChunk + 100));
  const Bytes more = RandomBytes(10, rng_);
  EXPECT_EQ(buffer.Write(file, 5 * kChunk + 7, more).code(), Errc::kCorrupt);

  WriteRandom(buffer, file, model, 2 * kChunk, 100);  // chunk 2 is whole again
  WriteRandom(buffer, file, model, 5 * kChunk + 7, 10);
  ExpectUnreadable(buffer, file, 5 * kChunk, 10, 5);
  ASSERT_TRUE(IsOk(buffer.Truncate(file, 5 * kChunk)));
  model.resize(5 * kChunk);
  ExpectBuffered(buffer, file, model);
  ExpectCommitted(buffer, file, model);
}

// A write too large for the buffer goes straight to the file: it replaces
// a waiting chunk it covers whole, and refuses to half-cover one.
TEST_P(WriteBackRecoveryTest, AWriteTooLargeToBufferReplacesAWaitingChunkOnlyWhole) {
  Bytes model = RandomBytes(8 * kChunk, rng_);
  FilePtr file = Create();
  ASSERT_NE(file, nullptr);
  ASSERT_TRUE(IsOk(file->Write(0, model)));
  Damage(file->path(), 2);
  WriteBackBuffer buffer(NoIdle(4 * kChunk));
  WriteRandom(buffer, file, model, 2 * kChunk + 100, 50);

  const Bytes half = RandomBytes(6 * kChunk - 60, rng_);
  EXPECT_EQ(buffer.Write(file, 2 * kChunk + 60, half).code(), Errc::kCorrupt);
  WriteRandom(buffer, file, model, 0, 8 * kChunk);
  EXPECT_EQ(buffer.buffered_bytes(), 0u);
  ExpectBuffered(buffer, file, model);
  ExpectCommitted(buffer, file, model);
}

INSTANTIATE_TEST_SUITE_P(Combos, WriteBackRecoveryTest,
                         ::testing::Values(CipherCombo::kSivGcm, CipherCombo::kSivCtrMac),
                         ComboName);

}  // namespace
}  // namespace server::write_back_testing
