// ReadAhead: a READ that continues the last one has the next range read
// ahead on an idle helper; what Take hands out is exactly what a READ
// would read, and nothing once a write, a truncation, a failed read or
// time has made it doubtful.
#include "server/read_ahead.h"

#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "server/write_back_test_fixture.h"

namespace server::write_back_testing {
namespace {

using std::chrono::milliseconds;

constexpr size_t kRange = 256 << 10;  // a READ's size in these tests

// Holds the tasks it is given until the test runs them; `idle` says
// whether it takes them at all, as the server's pool does by its calls.
class HeldTasks : public vaultcore::WorkSharing {
 public:
  void ForEach(size_t count, const std::function<void(size_t)>& part) override {
    for (size_t i = 0; i < count; ++i) part(i);
  }
  bool StartIfIdle(const std::function<void()>& task) override {
    if (!idle) return false;
    std::lock_guard lock(mutex_);
    tasks_.push_back(task);
    return true;
  }
  size_t RunAll() {
    std::vector<std::function<void()>> tasks;
    {
      std::lock_guard lock(mutex_);
      tasks.swap(tasks_);
    }
    for (auto& task : tasks) task();
    return tasks.size();
  }

  bool idle = true;

 private:
  std::mutex mutex_;
  std::vector<std::function<void()>> tasks_;
};

class ReadAheadTest : public WriteBackTest {
 protected:
  // A file of `ranges` ranges of random content, and its model.
  FilePtr MakeFile(size_t ranges) {
    model_ = RandomBytes(ranges * kRange, rng_);
    FilePtr file = Create();
    if (file != nullptr) {
      EXPECT_TRUE(IsOk(file->Write(0, model_)));
    }
    return file;
  }

  // What the READ handler does: the range from the read-ahead or read
  // through the buffer, then Served. Returns whether it was read ahead.
  bool Read(ReadAhead& ahead, const FilePtr& file, uint64_t offset, Bytes& out) {
    out.assign(kRange, 0);
    const bool taken = TakeInto(ahead, file, offset, out);
    if (!taken) {
      auto n = buffer_.Read(file, offset, out);
      EXPECT_TRUE(IsOk(n));
      out.resize(n.ok() ? *n : 0);
    }
    ahead.Served(file, offset, out.size(), &sharing_);
    return taken;
  }

  static bool TakeInto(ReadAhead& ahead, const FilePtr& file, uint64_t offset, Bytes& out) {
    auto read_ahead = ahead.Take(file, offset, out.size());
    if (read_ahead == nullptr) return false;
    std::copy_n(read_ahead.get(), out.size(), out.begin());
    return true;
  }

  Bytes Expected(uint64_t offset) const {
    return {model_.begin() + static_cast<ptrdiff_t>(offset),
            model_.begin() + static_cast<ptrdiff_t>(offset + kRange)};
  }

  // READs the first two ranges in order: the third is then read ahead.
  void ReadTwo(ReadAhead& ahead, const FilePtr& file) {
    Bytes got;
    EXPECT_FALSE(Read(ahead, file, 0, got));
    EXPECT_FALSE(Read(ahead, file, kRange, got));
  }

  // The ReadAhead under test; every task it handed out runs before it goes.
  ReadAhead& Ahead(milliseconds max_age) {
    ahead_ = std::make_unique<ReadAhead>(buffer_, max_age);
    return *ahead_;
  }
  void TearDown() override {
    sharing_.RunAll();
    ahead_.reset();
  }

  WriteBackBuffer buffer_{NoIdle()};
  HeldTasks sharing_;
  std::unique_ptr<ReadAhead> ahead_;
  Bytes model_;
};

TEST_P(ReadAheadTest, ReadsInOrderAreServedFromTheRangeReadAhead) {
  ReadAhead& ahead = Ahead(milliseconds(60'000));
  FilePtr file = MakeFile(6);
  Bytes got;
  EXPECT_FALSE(Read(ahead, file, 0, got));
  EXPECT_EQ(sharing_.RunAll(), 0u) << "one READ is not yet a sequence";
  EXPECT_FALSE(Read(ahead, file, kRange, got));
  for (uint64_t offset = 2 * kRange; offset < 6 * kRange; offset += kRange) {
    ASSERT_EQ(sharing_.RunAll(), 1u) << "at " << offset;
    EXPECT_TRUE(Read(ahead, file, offset, got)) << "at " << offset;
    EXPECT_TRUE(got == Expected(offset)) << "at " << offset;
  }
  EXPECT_EQ(ahead.held_bytes(), kRange);
}

TEST_P(ReadAheadTest, NothingIsReadAheadWhenTheWorkersAreBusyOrItIsOff) {
  FilePtr file = MakeFile(4);
  ReadAhead& ahead = Ahead(milliseconds(60'000));
  sharing_.idle = false;
  ReadTwo(ahead, file);
  Bytes got;
  EXPECT_FALSE(Read(ahead, file, 2 * kRange, got));
  EXPECT_TRUE(got == Expected(2 * kRange));
  EXPECT_EQ(ahead.held_bytes(), 0u);

  sharing_.idle = true;
  ReadAhead& off = Ahead(milliseconds(0));  // --attr-cache-ms 0
  ReadTwo(off, file);
  EXPECT_EQ(sharing_.RunAll(), 0u);
  ahead_.reset();
  ReadAhead& on = Ahead(milliseconds(60'000));
  EXPECT_FALSE(Read(on, file, 0, got));
  on.Served(file, kRange, kRange, nullptr);  // a thread with no sharing: nothing
  EXPECT_EQ(sharing_.RunAll(), 0u);
}

// Every write or truncation counts, whether it comes before the
// read-ahead runs (which then reads the new content) or after (which
// drops what it read).
TEST_P(ReadAheadTest, AChangeThroughTheBufferIsNeverHiddenByAReadAhead) {
  ReadAhead& ahead = Ahead(milliseconds(60'000));
  FilePtr file = MakeFile(8);
  ReadTwo(ahead, file);
  sharing_.RunAll();
  WriteRandom(buffer_, file, model_, 2 * kRange + 100, 1000);  // after the read-ahead
  Bytes got;
  EXPECT_FALSE(Read(ahead, file, 2 * kRange, got));
  EXPECT_TRUE(got == Expected(2 * kRange));

  WriteRandom(buffer_, file, model_, 3 * kRange + 5, 70'000);  // before it runs
  sharing_.RunAll();
  EXPECT_TRUE(Read(ahead, file, 3 * kRange, got));
  EXPECT_TRUE(got == Expected(3 * kRange));

  sharing_.RunAll();
  ASSERT_TRUE(IsOk(buffer_.Truncate(file, 4 * kRange + 10)));
  model_.resize(4 * kRange + 10);
  got.assign(kRange, 0);
  EXPECT_FALSE(TakeInto(ahead, file, 4 * kRange, got));

  // A write to another file counts too: the count is the buffer's.
  FilePtr other = Create();
  ReadTwo(ahead, file = MakeFile(4));
  sharing_.RunAll();
  ASSERT_TRUE(IsOk(buffer_.Write(other, 0, Bytes(10, 1))));
  EXPECT_FALSE(Read(ahead, file, 2 * kRange, got));
  EXPECT_TRUE(got == Expected(2 * kRange));
}

TEST_P(ReadAheadTest, AReadAheadNotYetStartedIsCancelledByTheReadItWasFor) {
  ReadAhead& ahead = Ahead(milliseconds(60'000));
  FilePtr file = MakeFile(4);
  ReadTwo(ahead, file);
  Bytes got;
  EXPECT_FALSE(Read(ahead, file, 2 * kRange, got));  // the task has not run
  EXPECT_TRUE(got == Expected(2 * kRange));
  // Two tasks now: the cancelled one, which does nothing, and the next.
  EXPECT_EQ(sharing_.RunAll(), 2u);
  EXPECT_TRUE(Read(ahead, file, 3 * kRange, got));
  EXPECT_TRUE(got == Expected(3 * kRange));
}

TEST_P(ReadAheadTest, ARangeReadAheadLongerAgoThanMaxAgeIsDropped) {
  ReadAhead& ahead = Ahead(milliseconds(1));
  FilePtr file = MakeFile(4);
  ReadTwo(ahead, file);
  sharing_.RunAll();
  std::this_thread::sleep_for(milliseconds(20));
  Bytes got;
  EXPECT_FALSE(Read(ahead, file, 2 * kRange, got));
  EXPECT_TRUE(got == Expected(2 * kRange));
}

// A read-ahead that meets a chunk failing authentication keeps nothing
// and reports nothing; the READ itself then fails as it should.
TEST_P(ReadAheadTest, AFailedReadAheadLeavesTheErrorToTheRead) {
  ReadAhead& ahead = Ahead(milliseconds(60'000));
  FilePtr file = MakeFile(4);
  Damage(file->path(), 2 * kRange / kChunk + 1);
  ReadTwo(ahead, file);
  sharing_.RunAll();
  Bytes got(kRange);
  EXPECT_FALSE(TakeInto(ahead, file, 2 * kRange, got));
  EXPECT_TRUE(HasCode(buffer_.Read(file, 2 * kRange, got), Errc::kCorrupt));
}

TEST_P(ReadAheadTest, AtMostMaxStreamsFilesAreFollowedAndFilesAreNotKeptOpen) {
  ReadAhead& ahead = Ahead(milliseconds(60'000));
  std::vector<FilePtr> files;
  for (size_t i = 0; i < ReadAhead::kMaxStreams + 2; ++i) files.push_back(MakeFile(3));
  for (const FilePtr& file : files) ReadTwo(ahead, file);
  sharing_.RunAll();
  EXPECT_LE(ahead.held_bytes(), ReadAhead::kMaxStreams * kRange);
  // The last files read took the streams of the first.
  Bytes got(kRange);
  EXPECT_FALSE(TakeInto(ahead, files.front(), 2 * kRange, got));
  EXPECT_TRUE(TakeInto(ahead, files.back(), 2 * kRange, got));

  std::weak_ptr<EncryptedFile> let_go = files.back();
  ReadTwo(ahead, files.back());  // queues a read-ahead of it again
  files.clear();
  EXPECT_TRUE(let_go.expired());
  EXPECT_EQ(sharing_.RunAll(), 1u);  // finds the file gone and reads nothing
}

// The destructor waits for a task that was handed out and has not run
// yet; the task then finds nothing to do.
TEST_P(ReadAheadTest, TheDestructorWaitsForTasksHandedOut) {
  FilePtr file = MakeFile(3);
  ReadTwo(Ahead(milliseconds(60'000)), file);
  std::thread later([this] {
    std::this_thread::sleep_for(milliseconds(20));
    EXPECT_EQ(sharing_.RunAll(), 1u);
  });
  ahead_.reset();
  later.join();
}

INSTANTIATE_TEST_SUITE_P(BothCombos, ReadAheadTest,
                         ::testing::Values(CipherCombo::kSivGcm, CipherCombo::kSivCtrMac),
                         ComboName);

}  // namespace
}  // namespace server::write_back_testing
