// WriteBackBuffer's acknowledged writes: a whole-chunk write handed back as
// work to run after the reply (Write's `later`) counts in the file's size
// at once, and whatever else touches the file's content waits for it (see
// the top of write_back.h).
#include "server/write_back.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "server/write_back_test_fixture.h"

namespace server::write_back_testing {
namespace {

// Runs `call` on a thread of its own; done() once it has returned.
class Waiter {
 public:
  explicit Waiter(std::function<void()> call)
      : thread_([this, call = std::move(call)] {
          call();
          done_ = true;
        }) {}
  ~Waiter() { Join(); }
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;

  bool done() const { return done_; }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;  // last: it uses the member above
};

// Long enough for a call that does not wait to have returned.
void Pause() { std::this_thread::sleep_for(std::chrono::milliseconds(50)); }

class WriteBackAcknowledgedTest : public WriteBackTest {
 protected:
  // A file of four chunks, on disk.
  FilePtr FourChunkFile(WriteBackBuffer& buffer, Bytes& model) {
    FilePtr file = Create();
    model = RandomBytes(4 * kChunk, rng_);
    EXPECT_TRUE(IsOk(buffer.Write(file, 0, model)));
    return file;
  }
};

// Both kinds: one that extends the file (sealed without the lock) and an
// overwrite within it (written under the lock).
TEST_P(WriteBackAcknowledgedTest, CountsInTheSizeAtOnceAndLandsWhenItsWorkRuns) {
  for (const uint64_t offset : {4 * kChunk, kChunk}) {
    SCOPED_TRACE("offset " + std::to_string(offset));
    WriteBackBuffer buffer(NoIdle());
    Bytes model;
    FilePtr file = FourChunkFile(buffer, model);
    ASSERT_NE(file, nullptr);
    const Bytes before = model;
    // The one past the end of file ends mid-chunk, as the file's last.
    const Bytes data = RandomBytes(offset == 4 * kChunk ? 2 * kChunk + 9 : 2 * kChunk, rng_);
    std::function<void()> later;
    ASSERT_TRUE(IsOk(buffer.Write(file, offset, data, &later)));
    ASSERT_TRUE(later) << "not acknowledged before its encryption";
    ModelWrite(model, offset, data);
    EXPECT_EQ(buffer.BufferedEnd(*file), offset == kChunk ? 3 * kChunk : model.size());
    auto size = buffer.Size(*file);
    ASSERT_TRUE(IsOk(size));
    EXPECT_EQ(*size, model.size());
    ExpectOnDisk(file->path(), before);
    later();
    EXPECT_EQ(buffer.buffered_bytes(), 0u);
    ExpectOnDisk(file->path(), model);
    ExpectBuffered(buffer, file, model);
  }
}

TEST_P(WriteBackAcknowledgedTest, ReadsCommitsAndFlushesWaitForIt) {
  WriteBackBuffer buffer(NoIdle());
  Bytes model;
  FilePtr file = FourChunkFile(buffer, model);
  ASSERT_NE(file, nullptr);
  const Bytes data = RandomBytes(2 * kChunk, rng_);
  std::function<void()> later;
  ASSERT_TRUE(IsOk(buffer.Write(file, kChunk, data, &later)));
  ASSERT_TRUE(later);
  ModelWrite(model, kChunk, data);

  Bytes read(model.size());
  vaultcore::Result<size_t> got = size_t{0};
  Status committed;
  Status flushed;
  Waiter reader([&] { got = buffer.Read(file, 0, read); });
  Waiter committer([&] { committed = buffer.Commit(file); });
  Waiter flusher([&] { flushed = buffer.FlushAll(true); });
  Pause();
  EXPECT_FALSE(reader.done()) << "a read did not wait for an acknowledged write";
  EXPECT_FALSE(committer.done()) << "a commit did not wait for an acknowledged write";
  EXPECT_FALSE(flusher.done()) << "a flush did not wait for an acknowledged write";
  later();
  reader.Join();
  committer.Join();
  flusher.Join();
  ASSERT_TRUE(IsOk(got));
  EXPECT_EQ(*got, model.size());
  EXPECT_TRUE(read == model);
  EXPECT_TRUE(IsOk(committed));
  EXPECT_TRUE(IsOk(flushed));
  ExpectOnDisk(file->path(), model);
}

// A write that is not sealed beside it, and a truncation, come after it in
// the file, as they came after it to the client.
TEST_P(WriteBackAcknowledgedTest, LaterChangesOfTheFileComeAfterIt) {
  WriteBackBuffer buffer(NoIdle());
  Bytes model;
  FilePtr file = FourChunkFile(buffer, model);
  ASSERT_NE(file, nullptr);
  const std::function<Status()> patch_write = [&] {
    const Bytes patch = RandomBytes(10, rng_);
    ModelWrite(model, 4 * kChunk + 100, patch);
    return buffer.Write(file, 4 * kChunk + 100, patch);
  };
  const std::function<Status()> truncation = [&] {
    model.resize(4 * kChunk + 50);
    return buffer.Truncate(file, 4 * kChunk + 50);
  };
  for (const auto& change : {patch_write, truncation}) {
    const Bytes data = RandomBytes(2 * kChunk, rng_);
    std::function<void()> later;
    ASSERT_TRUE(IsOk(buffer.Write(file, 3 * kChunk, data, &later)));
    ASSERT_TRUE(later);
    ModelWrite(model, 3 * kChunk, data);
    Status changed;
    Waiter changer([&] { changed = change(); });
    Pause();
    EXPECT_FALSE(changer.done()) << "a change did not wait for an acknowledged write";
    later();
    changer.Join();
    ASSERT_TRUE(IsOk(changed));
    ExpectBuffered(buffer, file, model);
    // The next write would overlap the buffered patch, and be buffered too.
    ASSERT_TRUE(IsOk(buffer.Commit(file)));
    ExpectOnDisk(file->path(), model);
  }
}

// Its failure is a failed flush: logged, counted (the server's write
// verifier moves) and reported once by the next Commit.
TEST_P(WriteBackAcknowledgedTest, AFailureIsReportedByTheNextCommit) {
  for (const uint64_t offset : {2 * kChunk, 0 * kChunk}) {
    SCOPED_TRACE("offset " + std::to_string(offset));
    const Bytes original = RandomBytes(2 * kChunk, rng_);
    FilePtr file = ReadOnlyFile(original);
    ASSERT_NE(file, nullptr);
    WriteBackBuffer buffer(NoIdle());
    std::function<void()> later;
    ASSERT_TRUE(IsOk(buffer.Write(file, offset, RandomBytes(kChunk, rng_), &later)));
    ASSERT_TRUE(later);
    ::testing::internal::CaptureStderr();
    later();
    const std::string log = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(log.find(file->path()), std::string::npos) << log;
    EXPECT_EQ(buffer.failed_flushes(), 1u);
    ExpectBuffered(buffer, file, original);
    EXPECT_TRUE(HasCode(buffer.Commit(file), Errc::kPermission));
    EXPECT_TRUE(IsOk(buffer.Commit(file)));
  }
}

// Without `later`, or when the write is not of whole chunks, Write does
// the work itself as before.
TEST_P(WriteBackAcknowledgedTest, OnlyWholeChunkWritesAreAcknowledgedEarly) {
  WriteBackBuffer buffer(NoIdle());
  Bytes model;
  FilePtr file = FourChunkFile(buffer, model);
  ASSERT_NE(file, nullptr);
  std::function<void()> later;
  const Bytes partial = RandomBytes(kChunk, rng_);
  ASSERT_TRUE(IsOk(buffer.Write(file, 100, partial, &later)));
  EXPECT_FALSE(later) << "a write off a chunk's start was handed back";
  ModelWrite(model, 100, partial);
  ExpectBuffered(buffer, file, model);
}

INSTANTIATE_TEST_SUITE_P(Combos, WriteBackAcknowledgedTest,
                         ::testing::Values(CipherCombo::kSivGcm, CipherCombo::kSivCtrMac),
                         ComboName);

}  // namespace
}  // namespace server::write_back_testing
