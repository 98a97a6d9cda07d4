// WriteBackBuffer against a plain byte vector per file: what the buffer
// reads back must always be what a POSIX file would hold, and what reaches
// the disk (seen through a second EncryptedFile on the same path) must be
// the same bytes once a commit, a flush or shutdown says it is there, and
// not before. Writes encrypted without the file's lock (sealed) are tested
// in write_back_sealing_test.cc.
#include "server/write_back.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <limits>
#include <span>
#include <thread>
#include <vector>

#include "server/write_back_test_fixture.h"

namespace server::write_back_testing {
namespace {

TEST_P(WriteBackTest, BufferedWriteIsVisibleButNotOnDiskUntilCommit) {
  FilePtr file = Create();
  ASSERT_NE(file, nullptr);
  Bytes model = RandomBytes(1000, rng_);
  ASSERT_TRUE(IsOk(file->Write(0, model)));

  WriteBackBuffer buffer(NoIdle());
  const Bytes data = RandomBytes(kChunk + 77, rng_);
  ASSERT_TRUE(IsOk(buffer.Write(file, 500, data)));
  const Bytes on_disk_before = model;
  ModelWrite(model, 500, data);
  ExpectBuffered(buffer, file, model);
  EXPECT_EQ(buffer.buffered_bytes(), model.size());  // two chunks, all of the file
  // Neither the file object nor a second one on the path sees it yet.
  auto size = file->Size();
  ASSERT_TRUE(IsOk(size));
  EXPECT_EQ(*size, 1000u);
  ExpectOnDisk(file->path(), on_disk_before);

  ASSERT_TRUE(IsOk(buffer.Commit(file)));
  EXPECT_EQ(buffer.buffered_bytes(), 0u);
  ExpectOnDisk(file->path(), model);
  ExpectBuffered(buffer, file, model);
}

TEST_P(WriteBackTest, CommitLeavesExactlyTheModelOnDisk) {
  FilePtr file = Create();
  ASSERT_NE(file, nullptr);
  WriteBackBuffer buffer(NoIdle());
  Bytes model;
  struct Step {
    const char* what;
    uint64_t offset;
    size_t length;
  };
  const std::vector<Step> steps = {
      {"first bytes", 0, 100},
      {"at EOF", 100, 50},
      {"fill chunk 0 exactly", 150, kChunk - 150},
      {"at EOF on a chunk boundary", kChunk, 1},
      {"inside chunk 0", 10, 20},
      {"spanning chunks 0 and 1", kChunk - 5, 10},
      {"far past EOF", 4 * kChunk + 7, 33},
      {"ending exactly on a chunk boundary", 3 * kChunk, kChunk},
      {"spanning three chunks unaligned", kChunk + 1, 2 * kChunk + 3},
      {"one byte past a partial last chunk", 5 * kChunk + 1, 1},
      {"single byte in the middle", 2 * kChunk + 12345, 1},
  };
  for (const Step& step : steps) {
    SCOPED_TRACE(step.what);
    const Bytes data = RandomBytes(step.length, rng_);
    ASSERT_TRUE(IsOk(buffer.Write(file, step.offset, data)));
    ModelWrite(model, step.offset, data);
    ExpectBuffered(buffer, file, model);
  }
  ExpectOnDisk(file->path(), {});
  ASSERT_TRUE(IsOk(buffer.Commit(file)));
  ExpectOnDisk(file->path(), model);

  // Commit again after more writes over what is now on disk.
  for (const Step& step : steps) {
    const Bytes data = RandomBytes(step.length, rng_);
    ASSERT_TRUE(IsOk(buffer.Write(file, step.offset + 3, data)));
    ModelWrite(model, step.offset + 3, data);
  }
  ExpectBuffered(buffer, file, model);
  ASSERT_TRUE(IsOk(buffer.Commit(file)));
  ExpectOnDisk(file->path(), model);
}

TEST_P(WriteBackTest, ZeroLengthAndOutOfRangeWrites) {
  FilePtr file = Create();
  ASSERT_NE(file, nullptr);
  WriteBackBuffer buffer(NoIdle());
  Bytes model = RandomBytes(10, rng_);
  ASSERT_TRUE(IsOk(buffer.Write(file, 0, model)));
  // POSIX: a 0-byte write does not extend the file, even past EOF.
  ASSERT_TRUE(IsOk(buffer.Write(file, 5 * kChunk, {})));
  ExpectBuffered(buffer, file, model);

  const Bytes data(10, 1);
  EXPECT_TRUE(HasCode(buffer.Write(file, std::numeric_limits<uint64_t>::max() - 4, data),
                      Errc::kFileTooBig));
  EXPECT_TRUE(
      HasCode(buffer.Write(file, WriteBackBuffer::kMaxFileSize - 5, data), Errc::kFileTooBig));
  EXPECT_TRUE(
      HasCode(buffer.Write(file, WriteBackBuffer::kMaxFileSize + 1, data), Errc::kFileTooBig));
  EXPECT_TRUE(HasCode(buffer.Truncate(file, WriteBackBuffer::kMaxFileSize + 1), Errc::kFileTooBig));
  EXPECT_TRUE(HasCode(buffer.Write(nullptr, 0, data), Errc::kInvalidArgument));
  // Refused writes change nothing.
  ExpectBuffered(buffer, file, model);
  EXPECT_EQ(buffer.buffered_bytes(), model.size());
  ASSERT_TRUE(IsOk(buffer.Commit(file)));
  ExpectOnDisk(file->path(), model);
}

TEST_P(WriteBackTest, ReadsMixBufferedChunksDiskChunksAndGaps) {
  FilePtr file = Create();
  ASSERT_NE(file, nullptr);
  Bytes model = RandomBytes(4 * kChunk + 300, rng_);
  ASSERT_TRUE(IsOk(file->Write(0, model)));
  WriteBackBuffer buffer(NoIdle());
  // Buffered: part of chunk 1, part of chunk 3, and a write far past EOF
  // that leaves chunks 5 and 6 (beyond the disk's end) as a gap.
  for (const auto& [offset, length] : std::vector<std::pair<uint64_t, size_t>>{
           {kChunk + 100, 200}, {3 * kChunk + kChunk - 10, 20}, {7 * kChunk + 5, 50}}) {
    const Bytes data = RandomBytes(length, rng_);
    ASSERT_TRUE(IsOk(buffer.Write(file, offset, data)));
    ModelWrite(model, offset, data);
  }
  const uint64_t size = model.size();
  const std::vector<uint64_t> offsets = {
      0,          1,          kChunk - 1,        kChunk + 150, 2 * kChunk,
      3 * kChunk, 4 * kChunk, 4 * kChunk + 300,  5 * kChunk,   size - 1,
      size,       size + 1,   size + 10 * kChunk};
  const std::vector<size_t> lengths = {0,          1,          kChunk - 1, kChunk,
                                       kChunk + 1, 3 * kChunk, 9 * kChunk};
  for (uint64_t offset : offsets) {
    for (size_t length : lengths) {
      SCOPED_TRACE("offset " + std::to_string(offset) + " length " + std::to_string(length));
      Bytes got(length, 0xee);
      auto n = buffer.Read(file, offset, got);
      ASSERT_TRUE(IsOk(n));
      const size_t expected = offset >= size ? 0 : std::min<uint64_t>(length, size - offset);
      ASSERT_EQ(*n, expected);
      ASSERT_TRUE(std::equal(got.begin(), got.begin() + static_cast<ptrdiff_t>(expected),
                             model.begin() + static_cast<ptrdiff_t>(std::min(offset, size))));
      // Bytes beyond what was read are left alone.
      ASSERT_TRUE(std::all_of(got.begin() + static_cast<ptrdiff_t>(expected), got.end(),
                              [](uint8_t b) { return b == 0xee; }));
    }
  }
  ASSERT_TRUE(IsOk(buffer.Commit(file)));
  ExpectOnDisk(file->path(), model);
}

TEST_P(WriteBackTest, WriteFarPastAShortFileFillsTheGapWithZeros) {
  FilePtr file = Create();
  ASSERT_NE(file, nullptr);
  Bytes model = RandomBytes(100, rng_);
  ASSERT_TRUE(IsOk(file->Write(0, model)));
  WriteBackBuffer buffer(NoIdle());
  // Buffered chunk 0 ends before the file's new end: it must grow with
  // zeros (the gap) once the next write extends the file.
  Bytes data = RandomBytes(50, rng_);
  ASSERT_TRUE(IsOk(buffer.Write(file, 20, data)));
  ModelWrite(model, 20, data);
  data = RandomBytes(kChunk + 9, rng_);
  ASSERT_TRUE(IsOk(buffer.Write(file, 5 * kChunk + 7, data)));
  ModelWrite(model, 5 * kChunk + 7, data);
  ExpectBuffered(buffer, file, model);
  ASSERT_TRUE(IsOk(buffer.Commit(file)));
  ExpectOnDisk(file->path(), model);
}

TEST_P(WriteBackTest, RandomOperationsMatchTheModel) {
  // A small budget, so pressure flushes happen between the explicit ones.
  const size_t max_bytes = 5 * kChunk;
  WriteBackBuffer buffer(NoIdle(max_bytes));
  std::vector<FilePtr> files;
  std::vector<Bytes> models(3);
  for (size_t i = 0; i < models.size(); ++i) {
    files.push_back(Create());
    ASSERT_NE(files.back(), nullptr);
  }
  // Offsets and sizes cluster around chunk boundaries, where the chunk
  // arithmetic changes behaviour.
  auto near_boundary = [&](uint64_t max_chunks) {
    const uint64_t base = (rng_() % (max_chunks + 1)) * kChunk;
    const int64_t delta = static_cast<int64_t>(rng_() % 7) - 3;
    return static_cast<uint64_t>(std::max<int64_t>(0, static_cast<int64_t>(base) + delta));
  };
  for (int step = 0; step < 600; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    const size_t f = rng_() % files.size();
    const FilePtr& file = files[f];
    Bytes& model = models[f];
    const int op = static_cast<int>(rng_() % 100);
    if (op < 55) {
      const uint64_t offset = rng_() % 2 ? near_boundary(6) : rng_() % (7 * kChunk);
      const size_t length = rng_() % 3 == 0 ? near_boundary(2) : rng_() % 5000;
      const Bytes data = RandomBytes(length, rng_);
      ASSERT_TRUE(IsOk(buffer.Write(file, offset, data)));
      ModelWrite(model, offset, data);
    } else if (op < 85) {
      const uint64_t offset = rng_() % 2 ? near_boundary(7) : rng_() % (8 * kChunk);
      const size_t length = rng_() % 2 ? near_boundary(3) : rng_() % 5000;
      Bytes got(length, 0xee);
      auto n = buffer.Read(file, offset, got);
      ASSERT_TRUE(IsOk(n));
      const size_t expected =
          offset >= model.size() ? 0 : std::min<uint64_t>(length, model.size() - offset);
      ASSERT_EQ(*n, expected);
      ASSERT_TRUE(std::equal(
          got.begin(), got.begin() + static_cast<ptrdiff_t>(expected),
          model.begin() + static_cast<ptrdiff_t>(std::min<uint64_t>(offset, model.size()))));
    } else if (op < 93) {
      const uint64_t size = rng_() % 2 ? near_boundary(6) : rng_() % (7 * kChunk);
      ASSERT_TRUE(IsOk(buffer.Truncate(file, size)));
      model.resize(size, 0);
    } else {
      ASSERT_TRUE(IsOk(buffer.Commit(file)));
      ExpectOnDisk(file->path(), model);
    }
    ASSERT_LE(buffer.buffered_bytes(), max_bytes);
    auto size = buffer.Size(*file);
    ASSERT_TRUE(IsOk(size));
    ASSERT_EQ(*size, model.size());
  }
  for (size_t f = 0; f < files.size(); ++f) ExpectBuffered(buffer, files[f], models[f]);
  ASSERT_TRUE(IsOk(buffer.FlushAll(true)));
  EXPECT_EQ(buffer.buffered_bytes(), 0u);
  for (size_t f = 0; f < files.size(); ++f) ExpectOnDisk(files[f]->path(), models[f]);
}

TEST_P(WriteBackTest, PressureKeepsTheBudgetAndWritesOldestFilesFirst) {
  const size_t max_bytes = 4 * kChunk;
  WriteBackBuffer buffer(NoIdle(max_bytes));
  std::vector<FilePtr> files;
  std::vector<Bytes> models(3);
  for (size_t i = 0; i < models.size(); ++i) {
    files.push_back(Create());
    ASSERT_NE(files.back(), nullptr);
  }
  // Sequential 4 KiB writes, as a client streaming three files would send.
  size_t peak = 0;
  for (uint64_t offset = 0; offset < 10 * kChunk; offset += 4096) {
    for (size_t f = 0; f < files.size(); ++f) {
      const Bytes data = RandomBytes(4096, rng_);
      ASSERT_TRUE(IsOk(buffer.Write(files[f], offset, data)));
      ModelWrite(models[f], offset, data);
      ASSERT_LE(buffer.buffered_bytes(), max_bytes);
      peak = std::max(peak, buffer.buffered_bytes());
    }
  }
  EXPECT_GT(peak, 2 * kChunk);  // the budget was used, not bypassed
  // Most of every file went out under pressure, uncommitted.
  for (size_t f = 0; f < files.size(); ++f) {
    EXPECT_GE(OnDisk(files[f]->path()).size(), 6 * kChunk);
    ExpectBuffered(buffer, files[f], models[f]);
  }
  // The least recently written file goes first: with file 0 and then
  // file 1 buffered, a write to file 1 that needs room pushes out file 0
  // and keeps file 1's own older data.
  ASSERT_TRUE(IsOk(buffer.Commit(files[0])));
  ASSERT_TRUE(IsOk(buffer.Commit(files[1])));
  ASSERT_TRUE(IsOk(buffer.Commit(files[2])));
  for (size_t f = 0; f < 2; ++f) {
    const Bytes data = RandomBytes(kChunk, rng_);
    ASSERT_TRUE(IsOk(buffer.Write(files[f], 20 * kChunk, data)));
    ModelWrite(models[f], 20 * kChunk, data);
  }
  const Bytes data = RandomBytes(3 * kChunk, rng_);
  ASSERT_TRUE(IsOk(buffer.Write(files[1], 30 * kChunk, data)));
  ModelWrite(models[1], 30 * kChunk, data);
  EXPECT_EQ(OnDisk(files[0]->path()).size(), models[0].size());  // file 0 was the oldest
  EXPECT_LT(OnDisk(files[1]->path()).size(), models[1].size());  // file 1 is still buffered
  for (size_t f = 0; f < files.size(); ++f) {
    ASSERT_TRUE(IsOk(buffer.Commit(files[f])));
    ExpectOnDisk(files[f]->path(), models[f]);
  }
}

TEST_P(WriteBackTest, WriteLargerThanTheBudgetGoesStraightThrough) {
  FilePtr file = Create();
  ASSERT_NE(file, nullptr);
  WriteBackBuffer buffer(NoIdle(2 * kChunk));
  Bytes model = RandomBytes(100, rng_);
  ASSERT_TRUE(IsOk(buffer.Write(file, 0, model)));
  EXPECT_EQ(buffer.buffered_bytes(), 100u);
  const Bytes data = RandomBytes(3 * kChunk, rng_);
  ASSERT_TRUE(IsOk(buffer.Write(file, 50, data)));
  ModelWrite(model, 50, data);
  EXPECT_EQ(buffer.buffered_bytes(), 0u);
  // On disk without a commit, older buffered bytes first.
  ExpectOnDisk(file->path(), model);
  ExpectBuffered(buffer, file, model);
}

// Whole chunks that start within the file on disk and meet no buffered
// chunk go to the file at once; everything else waits in the buffer.
TEST_P(WriteBackTest, WholeChunksGoStraightToTheFile) {
  FilePtr file = Create();
  ASSERT_NE(file, nullptr);
  WriteBackBuffer buffer(NoIdle());
  Bytes model;
  auto write = [&](uint64_t offset, size_t length) {
    WriteRandom(buffer, file, model, offset, length);
  };
  write(0, 2 * kChunk + 100);  // the file's last chunk may be short
  EXPECT_EQ(buffer.buffered_bytes(), 0u);
  ExpectOnDisk(file->path(), model);

  write(4 * kChunk, kChunk);  // past a hole
  EXPECT_EQ(buffer.buffered_bytes(), kChunk);
  write(2 * kChunk, kChunk);  // the hole's start, below a buffered chunk: straight
  EXPECT_EQ(buffer.buffered_bytes(), kChunk);
  write(4 * kChunk + 10, 20);     // into the buffered chunk
  write(3 * kChunk, 2 * kChunk);  // meets the buffered chunk: buffered with it
  EXPECT_EQ(buffer.buffered_bytes(), 2 * kChunk);
  write(kChunk, kChunk - 1);  // less than a chunk: buffered
  EXPECT_EQ(buffer.buffered_bytes(), 3 * kChunk);
  write(0, kChunk);  // a whole chunk short of the end of file: straight
  EXPECT_EQ(buffer.buffered_bytes(), 3 * kChunk);
  ExpectBuffered(buffer, file, model);
  ASSERT_TRUE(IsOk(buffer.Commit(file)));
  EXPECT_EQ(buffer.buffered_bytes(), 0u);
  ExpectOnDisk(file->path(), model);
}

// A write that meets a buffered chunk waits for room; when the flush that
// makes room writes out that same file, the write becomes one of whole
// chunks and goes straight to the file, with its own data.
TEST_P(WriteBackTest, WholeChunkWriteThatWaitedForRoomWritesItsOwnData) {
  WriteBackBuffer buffer(NoIdle(2 * kChunk));
  FilePtr first = Create();
  FilePtr second = Create();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  Bytes first_model;
  Bytes second_model;
  auto write = [&](const FilePtr& file, Bytes& model, uint64_t offset, size_t length) {
    WriteRandom(buffer, file, model, offset, length);
  };
  // Not from a chunk's start: buffered, each a whole chunk of the budget.
  write(first, first_model, 1, kChunk - 1);  // the least recently written
  write(second, second_model, 1, kChunk - 1);
  ASSERT_EQ(buffer.buffered_bytes(), 2 * kChunk);
  // Meets the buffered chunk, so it would be buffered too; making room
  // writes `first` out, after which it goes straight to the file.
  write(first, first_model, 0, 2 * kChunk);
  ExpectBuffered(buffer, first, first_model);
  ASSERT_TRUE(IsOk(buffer.Commit(first)));
  ASSERT_TRUE(IsOk(buffer.Commit(second)));
  ExpectOnDisk(first->path(), first_model);
  ExpectOnDisk(second->path(), second_model);
}

TEST_P(WriteBackTest, IdleFileIsWrittenOutWithoutCommit) {
  FilePtr file = Create();
  ASSERT_NE(file, nullptr);
  WriteBackBuffer::Options options;
  options.idle_flush = std::chrono::milliseconds(30);
  WriteBackBuffer buffer(options);
  Bytes model;
  const Bytes data = RandomBytes(2 * kChunk + 5, rng_);
  ASSERT_TRUE(IsOk(buffer.Write(file, 3, data)));
  ModelWrite(model, 3, data);
  ASSERT_TRUE(Eventually([&] { return buffer.buffered_bytes() == 0; }));
  ExpectOnDisk(file->path(), model);
  ASSERT_TRUE(IsOk(buffer.Commit(file)));
  ExpectOnDisk(file->path(), model);
}

TEST_P(WriteBackTest, ConcurrentWritersOnOneFileAndOnTheirOwn) {
  constexpr int kThreads = 4;
  // Pieces not aligned to chunks, dealt round-robin: neighbouring threads
  // always share chunks of the common file.
  constexpr size_t kPiece = 5000;
  constexpr int kPiecesPerThread = 40;
  WriteBackBuffer::Options options;
  options.max_bytes = 6 * kChunk;  // pressure flushes from every thread
  options.idle_flush = std::chrono::milliseconds(10);
  WriteBackBuffer buffer(options);
  FilePtr shared = Create();
  ASSERT_NE(shared, nullptr);
  std::vector<FilePtr> own;
  for (int t = 0; t < kThreads; ++t) {
    own.push_back(Create());
    ASSERT_NE(own.back(), nullptr);
  }
  std::vector<Bytes> shared_pieces(kThreads * kPiecesPerThread);
  std::vector<Bytes> own_models(kThreads);
  for (Bytes& piece : shared_pieces) piece = RandomBytes(kPiece, rng_);
  for (int t = 0; t < kThreads; ++t) own_models[t] = RandomBytes(kPiecesPerThread * kPiece, rng_);

  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      for (int i = 0; i < kPiecesPerThread; ++i) {
        // Back to front on odd threads, so some writes land past EOF.
        const int k = t % 2 == 0 ? i : kPiecesPerThread - 1 - i;
        const size_t p = static_cast<size_t>(k) * kThreads + t;
        if (!buffer.Write(shared, p * kPiece, shared_pieces[p]).ok()) ++failures;
        const Bytes& mine = own_models[t];
        const size_t at = static_cast<size_t>(k) * kPiece;
        if (!buffer.Write(own[t], at, std::span(mine).subspan(at, kPiece)).ok()) ++failures;
        // Our own piece of the common file reads back whatever else happens.
        Bytes got(kPiece);
        auto n = buffer.Read(shared, p * kPiece, got);
        if (!n.ok() || *n != kPiece || got != shared_pieces[p]) ++failures;
        if (rng() % 8 == 0 && !buffer.Commit(own[t]).ok()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(buffer.buffered_bytes(), options.max_bytes);

  Bytes shared_model;
  for (const Bytes& piece : shared_pieces) {
    shared_model.insert(shared_model.end(), piece.begin(), piece.end());
  }
  ExpectBuffered(buffer, shared, shared_model);
  ASSERT_TRUE(IsOk(buffer.Commit(shared)));
  ExpectOnDisk(shared->path(), shared_model);
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_TRUE(IsOk(buffer.Commit(own[t])));
    ExpectOnDisk(own[t]->path(), own_models[t]);
  }
}

TEST_P(WriteBackTest, DestructionWritesEverythingOut) {
  FilePtr a = Create();
  FilePtr b = Create();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  Bytes model_a;
  Bytes model_b;
  {
    WriteBackBuffer buffer(NoIdle());
    const Bytes data_a = RandomBytes(kChunk + 1, rng_);
    const Bytes data_b = RandomBytes(17, rng_);
    ASSERT_TRUE(IsOk(buffer.Write(a, 1, data_a)));  // unaligned: buffered
    ASSERT_TRUE(IsOk(buffer.Write(b, 3 * kChunk, data_b)));
    ModelWrite(model_a, 1, data_a);
    ModelWrite(model_b, 3 * kChunk, data_b);
    ExpectOnDisk(a->path(), {});
  }
  ExpectOnDisk(a->path(), model_a);
  ExpectOnDisk(b->path(), model_b);
}

TEST_P(WriteBackTest, FailedCommitFlushIsReportedOnce) {
  const Bytes original = RandomBytes(300, rng_);
  FilePtr file = ReadOnlyFile(original);
  ASSERT_NE(file, nullptr);
  WriteBackBuffer buffer(NoIdle());
  // Buffering succeeds; only writing it out can fail.
  Bytes model = original;
  const Bytes data = RandomBytes(kChunk, rng_);
  ASSERT_TRUE(IsOk(buffer.Write(file, 100, data)));
  ModelWrite(model, 100, data);
  ExpectBuffered(buffer, file, model);
  EXPECT_TRUE(HasCode(buffer.Commit(file), Errc::kPermission));
  // The data is gone (the error said so), and said only once.
  EXPECT_EQ(buffer.buffered_bytes(), 0u);
  ExpectBuffered(buffer, file, original);
  EXPECT_TRUE(IsOk(buffer.Commit(file)));
}

TEST_P(WriteBackTest, FailedPressureFlushIsStickyUntilCommit) {
  const Bytes original = RandomBytes(10, rng_);
  FilePtr failing = ReadOnlyFile(original);
  FilePtr other = Create();
  ASSERT_NE(failing, nullptr);
  ASSERT_NE(other, nullptr);
  WriteBackBuffer buffer(NoIdle(2 * kChunk));
  ASSERT_TRUE(IsOk(buffer.Write(failing, 0, RandomBytes(kChunk - 1, rng_))));
  EXPECT_EQ(buffer.failed_flushes(), 0u);
  // Room for this needs `failing` written out, which fails; that is not
  // this write's error.
  Bytes data;
  ModelWrite(data, 1, RandomBytes(2 * kChunk - 1, rng_));
  ASSERT_TRUE(IsOk(buffer.Write(other, 1, std::span(data).subspan(1))));
  EXPECT_EQ(buffer.failed_flushes(), 1u) << "the server's write verifier depends on it";
  EXPECT_EQ(buffer.buffered_bytes(), 2 * kChunk);
  ExpectBuffered(buffer, failing, original);
  // Unrelated operations on the file do not consume the error...
  ASSERT_TRUE(IsOk(buffer.Write(failing, 0, Bytes(1, 7))));
  EXPECT_TRUE(HasCode(buffer.FlushAll(false), Errc::kPermission));
  // ...only its Commit does, once.
  EXPECT_TRUE(HasCode(buffer.Commit(failing), Errc::kPermission));
  EXPECT_TRUE(IsOk(buffer.Commit(failing)));
  EXPECT_TRUE(IsOk(buffer.Commit(other)));
  ExpectOnDisk(other->path(), data);
}

TEST_P(WriteBackTest, FailedFlushOfTheSameFileFailsTheWrite) {
  FilePtr file = ReadOnlyFile({});
  ASSERT_NE(file, nullptr);
  WriteBackBuffer buffer(NoIdle(2 * kChunk));
  ASSERT_TRUE(IsOk(buffer.Write(file, 0, RandomBytes(kChunk - 1, rng_))));
  // Making room means writing out this file's own earlier data. (Off a
  // chunk's start: a whole-chunk write would be sealed, and fail there.)
  EXPECT_TRUE(HasCode(buffer.Write(file, 2 * kChunk + 1, RandomBytes(2 * kChunk - 1, rng_)),
                      Errc::kPermission));
  EXPECT_EQ(buffer.buffered_bytes(), 0u);
  ExpectBuffered(buffer, file, {});
  // The earlier, acknowledged write was lost too: Commit says so.
  EXPECT_TRUE(HasCode(buffer.Commit(file), Errc::kPermission));
  EXPECT_TRUE(IsOk(buffer.Commit(file)));
  // Too big to buffer at all: written through, and refused at once.
  EXPECT_TRUE(HasCode(buffer.Write(file, 0, RandomBytes(3 * kChunk, rng_)), Errc::kPermission));
}

TEST_P(WriteBackTest, FailedIdleFlushIsLoggedAndStickyUntilCommit) {
  FilePtr file = ReadOnlyFile({});
  ASSERT_NE(file, nullptr);
  WriteBackBuffer::Options options;
  options.idle_flush = std::chrono::milliseconds(20);
  WriteBackBuffer buffer(options);
  ::testing::internal::CaptureStderr();
  ASSERT_TRUE(IsOk(buffer.Write(file, 0, RandomBytes(100, rng_))));
  const bool flushed = Eventually([&] { return buffer.buffered_bytes() == 0; });
  const std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(flushed);
  EXPECT_NE(log.find(file->path()), std::string::npos) << log;
  EXPECT_TRUE(HasCode(buffer.Commit(file), Errc::kPermission));
  EXPECT_TRUE(IsOk(buffer.Commit(file)));
}

TEST_P(WriteBackTest, TruncateDropsAndTrimsBufferedChunks) {
  FilePtr file = Create();
  ASSERT_NE(file, nullptr);
  WriteBackBuffer buffer(NoIdle());
  Bytes model = RandomBytes(2 * kChunk + 10, rng_);
  ASSERT_TRUE(IsOk(file->Write(0, model)));
  const Bytes data = RandomBytes(4 * kChunk, rng_);
  ASSERT_TRUE(IsOk(buffer.Write(file, kChunk / 2, data)));
  ModelWrite(model, kChunk / 2, data);
  for (uint64_t size : {3 * kChunk + 100, 3 * kChunk, kChunk + 1, 6 * kChunk + 3, uint64_t{0}}) {
    SCOPED_TRACE("truncate to " + std::to_string(size));
    ASSERT_TRUE(IsOk(buffer.Truncate(file, size)));
    model.resize(size, 0);
    EXPECT_EQ(buffer.buffered_bytes(), 0u);
    ExpectBuffered(buffer, file, model);
    ExpectOnDisk(file->path(), model);
    // New data over the cut, buffered again.
    const Bytes more = RandomBytes(kChunk, rng_);
    ASSERT_TRUE(IsOk(buffer.Write(file, size / 2, more)));
    ModelWrite(model, size / 2, more);
    ExpectBuffered(buffer, file, model);
  }
  ASSERT_TRUE(IsOk(buffer.Commit(file)));
  ExpectOnDisk(file->path(), model);
}

TEST_P(WriteBackTest, StableWriteIsOnDiskAtOnce) {
  FilePtr file = Create();
  ASSERT_NE(file, nullptr);
  WriteBackBuffer buffer(NoIdle());
  Bytes model;
  Bytes data = RandomBytes(kChunk + 3, rng_);
  ASSERT_TRUE(IsOk(buffer.Write(file, 0, data)));
  ModelWrite(model, 0, data);
  data = RandomBytes(10, rng_);
  ASSERT_TRUE(IsOk(buffer.WriteStable(file, 2 * kChunk, data)));
  ModelWrite(model, 2 * kChunk, data);
  EXPECT_EQ(buffer.buffered_bytes(), 0u);
  ExpectOnDisk(file->path(), model);
}

TEST_P(WriteBackTest, FilesNeverBufferedPassStraightThrough) {
  FilePtr file = Create();
  ASSERT_NE(file, nullptr);
  const Bytes model = RandomBytes(kChunk + 5, rng_);
  ASSERT_TRUE(IsOk(file->Write(0, model)));
  WriteBackBuffer buffer(NoIdle());
  ExpectBuffered(buffer, file, model);
  EXPECT_TRUE(IsOk(buffer.Commit(file)));
  ASSERT_TRUE(IsOk(buffer.Truncate(file, 10)));
  ExpectOnDisk(file->path(), Bytes(model.begin(), model.begin() + 10));
}

// The count ReadAhead checks: it moves with every change of content,
// including a failed flush that drops buffered writes, and with nothing
// that leaves content as it was.
TEST_P(WriteBackTest, ContentChangesCountWritesTruncationsAndLostWrites) {
  WriteBackBuffer buffer(NoIdle());
  FilePtr file = Create();
  Bytes model;
  uint64_t seen = buffer.content_changes();
  const auto moved = [&] {
    const uint64_t now = buffer.content_changes();
    const bool changed = now != seen;
    seen = now;
    return changed;
  };
  WriteRandom(buffer, file, model, 0, 3 * kChunk + 10);  // whole chunks, then a buffered tail
  EXPECT_TRUE(moved());
  WriteRandom(buffer, file, model, 5, 10);
  EXPECT_TRUE(moved());
  Bytes out(100);
  ASSERT_TRUE(IsOk(buffer.Read(file, 0, out)));
  ASSERT_TRUE(IsOk(buffer.Size(*file)));
  ASSERT_TRUE(IsOk(buffer.Commit(file)));
  EXPECT_FALSE(moved()) << "reading, sizing and committing change nothing";
  ASSERT_TRUE(IsOk(buffer.Truncate(file, kChunk)));
  EXPECT_TRUE(moved());
  ASSERT_TRUE(IsOk(buffer.WriteStable(file, 7, Bytes(3, 1))));
  EXPECT_TRUE(moved());

  FilePtr failing = ReadOnlyFile(RandomBytes(300, rng_));
  ASSERT_TRUE(IsOk(buffer.Write(failing, 100, Bytes(10, 2))));
  moved();
  EXPECT_TRUE(HasCode(buffer.Commit(failing), Errc::kPermission));
  EXPECT_TRUE(moved()) << "the buffered write was lost";
}

INSTANTIATE_TEST_SUITE_P(Combos, WriteBackTest,
                         ::testing::Values(CipherCombo::kSivGcm, CipherCombo::kSivCtrMac),
                         ComboName);

}  // namespace
}  // namespace server::write_back_testing
