// WriteBackBuffer's sealed writes: whole-chunk WRITEs that extend a file
// are encrypted without the file's lock, in parallel, and land in order;
// whatever happens meanwhile, the file never holds a gap and reads as the
// model (see the top of write_back.h).
#include "server/write_back.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "server/write_back_test_fixture.h"
#include "vaultcore/work_sharing.h"

namespace server::write_back_testing {
namespace {

// Holds a write in the middle of its encryption: EncryptedFile encrypts a
// write of four chunks or more through the thread's WorkSharing, and this
// one waits there until the test opens it.
class SealGate : public vaultcore::WorkSharing {
 public:
  void ForEach(size_t count, const std::function<void(size_t)>& part) override {
    {
      std::unique_lock lock(mutex_);
      arrived_ = true;
      changed_.wait(lock, [&] { return open_; });
    }
    for (size_t i = 0; i < count; ++i) part(i);
    std::lock_guard lock(mutex_);
    finished_ = true;
  }
  void Open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  bool arrived() {
    std::lock_guard lock(mutex_);
    return arrived_;
  }
  bool finished() {
    std::lock_guard lock(mutex_);
    return finished_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = false;
  bool arrived_ = false;
  bool finished_ = false;
};

// Writes `data` at `offset` on a thread of its own, through `gate`.
class GatedWrite {
 public:
  GatedWrite(WriteBackBuffer& buffer, const FilePtr& file, uint64_t offset, const Bytes& data)
      : thread_([this, &buffer, file, offset, &data] {
          const vaultcore::WorkSharing::Scope scope(&gate_);
          status_ = buffer.Write(file, offset, data);
          done_ = true;
        }) {}
  // Never leaves the thread stuck, whatever the test saw.
  ~GatedWrite() { (void)Finish(); }
  GatedWrite(const GatedWrite&) = delete;
  GatedWrite& operator=(const GatedWrite&) = delete;

  SealGate& gate() { return gate_; }
  bool done() const { return done_; }
  Status Finish() {
    gate_.Open();
    if (thread_.joinable()) thread_.join();
    return status_;
  }

 private:
  SealGate gate_;
  Status status_;
  std::atomic<bool> done_{false};
  std::thread thread_;  // last: it uses the members above
};

class WriteBackSealingTest : public WriteBackTest {
 protected:
  // Two writers stream whole chunks into a file of four chunks: one at
  // chunk 4, one at chunk 8 (past the end of file on disk) that ends the
  // file mid-chunk. Both encrypt at the same time, the file's lock free,
  // whichever starts first; the upper one lands after the lower one fills
  // the gap, and neither is buffered.
  void ExpectBothSealedAndLandedInOrder(bool upper_first) {
    FilePtr file = Create();
    ASSERT_NE(file, nullptr);
    WriteBackBuffer buffer(NoIdle());
    Bytes model = RandomBytes(4 * kChunk, rng_);
    ASSERT_TRUE(IsOk(buffer.Write(file, 0, model)));
    const Bytes lower_data = RandomBytes(4 * kChunk, rng_);
    const Bytes upper_data = RandomBytes(5 * kChunk + 9, rng_);

    std::optional<GatedWrite> lower;
    std::optional<GatedWrite> upper;
    // Each starts encrypting (arrives at its gate) before the other starts.
    auto start_lower = [&] {
      lower.emplace(buffer, file, 4 * kChunk, lower_data);
      return Eventually([&] { return lower->gate().arrived(); });
    };
    if (!upper_first) {
      ASSERT_TRUE(start_lower());
    }
    upper.emplace(buffer, file, 8 * kChunk, upper_data);
    ASSERT_TRUE(Eventually([&] { return upper->gate().arrived(); }))
        << "the write past the end of file was not encrypted (buffered instead)";
    if (upper_first) {
      ASSERT_TRUE(start_lower());
    }
    upper->gate().Open();
    ASSERT_TRUE(Eventually([&] { return upper->gate().finished(); }));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_FALSE(upper->done()) << "landed (or was buffered) before the write below it";
    ASSERT_TRUE(IsOk(lower->Finish()));
    ASSERT_TRUE(IsOk(upper->Finish()));
    ModelWrite(model, 4 * kChunk, lower_data);
    ModelWrite(model, 8 * kChunk, upper_data);
    EXPECT_EQ(buffer.buffered_bytes(), 0u);
    ExpectOnDisk(file->path(), model);
    ExpectBuffered(buffer, file, model);
  }
};

TEST_P(WriteBackSealingTest, StreamedWholeChunkWritesEncryptTogetherAndLandInOrder) {
  ExpectBothSealedAndLandedInOrder(/*upper_first=*/false);
}

// The workers take a client's streamed WRITEs up out of order: the upper
// write, which arrives first, does not continue the file yet, and is
// encrypted all the same.
TEST_P(WriteBackSealingTest, WholeChunkWritePastAGapIsSealedAndLandsOnceTheGapIsFilled) {
  ExpectBothSealedAndLandedInOrder(/*upper_first=*/true);
}

// A write past a gap that nothing fills while it is encrypted is buffered
// after all (the file never holds a hole); one further past the end of file
// than a gap about to be filled is buffered without being encrypted first.
TEST_P(WriteBackSealingTest, WholeChunkWritePastAGapLeftOpenIsBuffered) {
  FilePtr file = Create();
  ASSERT_NE(file, nullptr);
  WriteBackBuffer buffer(NoIdle());
  Bytes model = RandomBytes(4 * kChunk, rng_);
  ASSERT_TRUE(IsOk(buffer.Write(file, 0, model)));
  const Bytes near_data = RandomBytes(4 * kChunk, rng_);
  const Bytes far_data = RandomBytes(4 * kChunk, rng_);
  const uint64_t far_offset = 12 * kChunk + (uint64_t{16} << 20);

  GatedWrite near(buffer, file, 8 * kChunk, near_data);
  ASSERT_TRUE(Eventually([&] { return near.gate().arrived(); }));
  ASSERT_TRUE(IsOk(near.Finish()));
  EXPECT_EQ(buffer.buffered_bytes(), 4 * kChunk);
  GatedWrite far(buffer, file, far_offset, far_data);
  ASSERT_TRUE(Eventually([&] { return far.done(); }));
  EXPECT_FALSE(far.gate().arrived()) << "encrypted a write no gap-filling write could be near";
  ASSERT_TRUE(IsOk(far.Finish()));
  EXPECT_EQ(buffer.buffered_bytes(), 8 * kChunk);
  ModelWrite(model, 8 * kChunk, near_data);
  ModelWrite(model, far_offset, far_data);
  ExpectBuffered(buffer, file, model);
  ASSERT_TRUE(IsOk(buffer.Commit(file)));
  ExpectOnDisk(file->path(), model);
}

// Buffered chunks that continue the file up to a whole-chunk write are
// written out first, and the write then goes straight to the file after
// them; a buffered chunk past it stays buffered.
TEST_P(WriteBackSealingTest, WholeChunkWriteAfterBufferedChunksWritesThemOutFirst) {
  FilePtr file = Create();
  ASSERT_NE(file, nullptr);
  WriteBackBuffer buffer(NoIdle());
  Bytes model;
  auto write = [&](uint64_t offset, size_t length) {
    WriteRandom(buffer, file, model, offset, length);
  };
  write(0, 4 * kChunk);
  write(4 * kChunk + 10, kChunk - 10);  // buffered: chunk 4, whole with its zeros
  write(8 * kChunk + 5, 5);             // buffered: chunk 8, the file's end
  ASSERT_EQ(buffer.buffered_bytes(), kChunk + 10);
  write(5 * kChunk, 2 * kChunk);
  EXPECT_EQ(buffer.buffered_bytes(), 10u);
  auto on_disk = file->Size();
  ASSERT_TRUE(IsOk(on_disk));
  EXPECT_EQ(*on_disk, 7 * kChunk);
  ExpectBuffered(buffer, file, model);
  ASSERT_TRUE(IsOk(buffer.Commit(file)));
  ExpectOnDisk(file->path(), model);
}

// A file truncated while writes are being encrypted for past its new end:
// they no longer continue the file, so they are written the ordinary way
// (buffered, with zeros in the gap), and the file never holds a hole.
TEST_P(WriteBackSealingTest, SealedWritesFallBackWhenTheFileShrinksUnderThem) {
  FilePtr file = Create();
  ASSERT_NE(file, nullptr);
  WriteBackBuffer buffer(NoIdle());
  Bytes model = RandomBytes(4 * kChunk, rng_);
  ASSERT_TRUE(IsOk(buffer.Write(file, 0, model)));
  const Bytes first = RandomBytes(4 * kChunk, rng_);
  const Bytes second = RandomBytes(4 * kChunk, rng_);

  GatedWrite lower(buffer, file, 4 * kChunk, first);
  ASSERT_TRUE(Eventually([&] { return lower.gate().arrived(); }));
  GatedWrite upper(buffer, file, 8 * kChunk, second);
  ASSERT_TRUE(Eventually([&] { return upper.gate().arrived(); }));
  ASSERT_TRUE(IsOk(buffer.Truncate(file, 2 * kChunk + 100)));
  model.resize(2 * kChunk + 100);
  upper.gate().Open();
  ASSERT_TRUE(IsOk(lower.Finish()));
  ASSERT_TRUE(IsOk(upper.Finish()));
  ModelWrite(model, 4 * kChunk, first);
  ModelWrite(model, 8 * kChunk, second);
  EXPECT_EQ(buffer.buffered_bytes(), 8 * kChunk);
  ExpectBuffered(buffer, file, model);
  ASSERT_TRUE(IsOk(buffer.Commit(file)));
  ExpectOnDisk(file->path(), model);
}

// Many writers of whole-chunk pieces of one file, in and out of order,
// some ending mid-chunk, some acknowledged before they land, with commits
// and reads in between: the file always reads as the model, on disk and
// through the buffer.
TEST_P(WriteBackSealingTest, ConcurrentWholeChunkStreamsMatchTheModel) {
  constexpr int kThreads = 4;
  constexpr int kPiecesPerThread = 12;
  constexpr int kPieces = kThreads * kPiecesPerThread;
  WriteBackBuffer::Options options;
  options.max_bytes = 8 * kChunk;
  options.idle_flush = std::chrono::milliseconds(10);
  WriteBackBuffer buffer(options);
  FilePtr file = Create();
  ASSERT_NE(file, nullptr);
  // Piece p covers [starts[p], starts[p + 1]): one to five chunks, the
  // last one ending mid-chunk.
  std::vector<uint64_t> starts{0};
  for (int p = 0; p < kPieces; ++p) starts.push_back(starts.back() + (1 + rng_() % 5) * kChunk);
  starts.back() -= 1000;
  const Bytes model = RandomBytes(starts.back(), rng_);

  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPiecesPerThread; ++i) {
        // Back to front on odd threads, so some pieces start past the end.
        const int k = t % 2 == 0 ? i : kPiecesPerThread - 1 - i;
        const size_t p = static_cast<size_t>(k) * kThreads + t;
        const auto piece = std::span(model).subspan(starts[p], starts[p + 1] - starts[p]);
        // Half the threads have their writes acknowledged early and finish
        // them at once, as the server's WRITE does.
        std::function<void()> later;
        if (!buffer.Write(file, starts[p], piece, t < kThreads / 2 ? &later : nullptr).ok()) {
          ++failures;
        }
        if (later) later();
        Bytes got(piece.size());
        auto n = buffer.Read(file, starts[p], got);
        if (!n.ok() || *n != piece.size() || !std::equal(got.begin(), got.end(), piece.begin())) {
          ++failures;
        }
        if (i % 5 == t && !buffer.Commit(file).ok()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  ExpectBuffered(buffer, file, model);
  ASSERT_TRUE(IsOk(buffer.Commit(file)));
  ExpectOnDisk(file->path(), model);
}

INSTANTIATE_TEST_SUITE_P(Combos, WriteBackSealingTest,
                         ::testing::Values(CipherCombo::kSivGcm, CipherCombo::kSivCtrMac),
                         ComboName);

}  // namespace
}  // namespace server::write_back_testing
