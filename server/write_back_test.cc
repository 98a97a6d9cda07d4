// WriteBackBuffer against a plain byte vector per file: what the buffer
// reads back must always be what a POSIX file would hold, and what reaches
// the disk (seen through a second EncryptedFile on the same path) must be
// the same bytes once a commit, a flush or shutdown says it is there, and
// not before.
#include "server/write_back.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/testing.h"
#include "vaultcore/codec.h"
#include "vaultcore/content_cryptor.h"
#include "vaultcore/encrypted_file.h"
#include "vaultcore/masterkey.h"
#include "vaultcore/work_sharing.h"

namespace server {
namespace {

using vaultcore::Bytes;
using vaultcore::CipherCombo;
using vaultcore::EncryptedFile;
using vaultcore::Errc;
using vaultcore::Status;
using vaultnfs::testing::HasCode;
using vaultnfs::testing::IsOk;
using vaultnfs::testing::TempDir;

constexpr uint64_t kChunk = vaultcore::kCleartextChunkSize;
using FilePtr = std::shared_ptr<EncryptedFile>;

Bytes RandomBytes(size_t n, std::mt19937& rng) {
  Bytes out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

// What a POSIX file does on pwrite: zero fill up to `offset`, then overwrite.
void ModelWrite(Bytes& model, uint64_t offset, const Bytes& data) {
  if (data.empty()) return;
  if (model.size() < offset + data.size()) model.resize(offset + data.size(), 0);
  std::copy(data.begin(), data.end(), model.begin() + static_cast<ptrdiff_t>(offset));
}

// Tests that must see data stay in the buffer run without the background
// thread, so no timing can move it to disk behind their back.
WriteBackBuffer::Options NoIdle(size_t max_bytes = size_t{64} << 20) {
  WriteBackBuffer::Options options;
  options.max_bytes = max_bytes;
  options.idle_flush = std::chrono::milliseconds(0);
  return options;
}

// Polls `done` for up to 10 s; background work gets that long, not a
// fixed delay.
bool Eventually(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

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

class WriteBackTest : public ::testing::TestWithParam<CipherCombo> {
 protected:
  void SetUp() override {
    auto key = vaultcore::MasterKey::Generate();
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    key_ = std::make_unique<vaultcore::MasterKey>(std::move(key).value());
    cryptor_ = vaultcore::MakeContentCryptor(GetParam(), *key_);
  }

  FilePtr Create() {
    const std::string path = (dir_.path() / ("f" + std::to_string(next_++))).string();
    auto file = EncryptedFile::Create(*cryptor_, path, 0644);
    EXPECT_TRUE(file.ok()) << file.status().ToString();
    return file.ok() ? FilePtr(std::move(file).value()) : nullptr;
  }

  FilePtr Open(const std::string& path, EncryptedFile::Mode mode) {
    auto file = EncryptedFile::Open(*cryptor_, path, mode);
    EXPECT_TRUE(file.ok()) << file.status().ToString();
    return file.ok() ? FilePtr(std::move(file).value()) : nullptr;
  }

  // A file holding `content` on disk, opened read-only: writing it out
  // fails, which is how these tests make a flush fail.
  FilePtr ReadOnlyFile(const Bytes& content) {
    FilePtr writer = Create();
    if (writer == nullptr) return nullptr;
    EXPECT_TRUE(IsOk(writer->Write(0, content)));
    return Open(writer->path(), EncryptedFile::Mode::kReadOnly);
  }

  // The content on disk, read by a fresh EncryptedFile that shares no
  // state with the one the buffer writes through.
  Bytes OnDisk(const std::string& path) {
    FilePtr reader = Open(path, EncryptedFile::Mode::kReadOnly);
    if (reader == nullptr) return {};
    auto size = reader->Size();
    EXPECT_TRUE(IsOk(size));
    Bytes out(size.ok() ? *size : 0);
    auto n = reader->Read(0, out);
    EXPECT_TRUE(IsOk(n));
    EXPECT_EQ(n.ok() ? *n : 0, out.size());
    return out;
  }

  void ExpectOnDisk(const std::string& path, const Bytes& model) {
    const Bytes got = OnDisk(path);
    EXPECT_EQ(got.size(), model.size());
    EXPECT_TRUE(got == model) << path << ": disk content differs from the model";
    // No empty final chunk and no stray bytes: the ciphertext size is
    // exactly what the cleartext size prescribes.
    EXPECT_EQ(std::filesystem::file_size(path), cryptor_->CiphertextSize(model.size())) << path;
  }

  // Size and content through the buffer, including a read of a few bytes
  // past the end.
  void ExpectBuffered(WriteBackBuffer& buffer, const FilePtr& file, const Bytes& model) {
    auto size = buffer.Size(*file);
    ASSERT_TRUE(IsOk(size));
    EXPECT_EQ(*size, model.size());
    Bytes got(model.size() + 100, 0xee);
    auto n = buffer.Read(file, 0, got);
    ASSERT_TRUE(IsOk(n));
    ASSERT_EQ(*n, model.size());
    got.resize(*n);
    EXPECT_TRUE(got == model) << "buffered content differs from the model";
  }

  TempDir dir_;
  std::unique_ptr<vaultcore::MasterKey> key_;
  std::unique_ptr<vaultcore::ContentCryptor> cryptor_;
  int next_ = 0;
  std::mt19937 rng_{4242};
};

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
    const Bytes data = RandomBytes(length, rng_);
    ASSERT_TRUE(IsOk(buffer.Write(file, offset, data)));
    ModelWrite(model, offset, data);
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
    const Bytes data = RandomBytes(length, rng_);
    ASSERT_TRUE(IsOk(buffer.Write(file, offset, data)));
    ModelWrite(model, offset, data);
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

// Two writers streaming whole chunks into one file encrypt at the same
// time, the file's lock free; the one past the end of file on disk lands
// after the one that fills the gap, and neither is buffered.
TEST_P(WriteBackTest, StreamedWholeChunkWritesEncryptTogetherAndLandInOrder) {
  FilePtr file = Create();
  ASSERT_NE(file, nullptr);
  WriteBackBuffer buffer(NoIdle());
  Bytes model = RandomBytes(4 * kChunk, rng_);
  ASSERT_TRUE(IsOk(buffer.Write(file, 0, model)));
  const Bytes first = RandomBytes(4 * kChunk, rng_);
  const Bytes second = RandomBytes(5 * kChunk + 9, rng_);  // ends the file mid-chunk

  GatedWrite lower(buffer, file, 4 * kChunk, first);
  ASSERT_TRUE(Eventually([&] { return lower.gate().arrived(); }));
  GatedWrite upper(buffer, file, 8 * kChunk, second);
  const bool together = Eventually([&] { return upper.gate().arrived(); });
  EXPECT_TRUE(together) << "the second write did not start encrypting while the first was";
  if (together) {
    upper.gate().Open();
    ASSERT_TRUE(Eventually([&] { return upper.gate().finished(); }));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_FALSE(upper.done()) << "landed (or was buffered) before the write below it";
  }
  ASSERT_TRUE(IsOk(lower.Finish()));
  ASSERT_TRUE(IsOk(upper.Finish()));
  ModelWrite(model, 4 * kChunk, first);
  ModelWrite(model, 8 * kChunk, second);
  EXPECT_EQ(buffer.buffered_bytes(), 0u);
  ExpectOnDisk(file->path(), model);
  ExpectBuffered(buffer, file, model);
}

// Buffered chunks that continue the file up to a whole-chunk write are
// written out first, and the write then goes straight to the file after
// them; a buffered chunk past it stays buffered.
TEST_P(WriteBackTest, WholeChunkWriteAfterBufferedChunksWritesThemOutFirst) {
  FilePtr file = Create();
  ASSERT_NE(file, nullptr);
  WriteBackBuffer buffer(NoIdle());
  Bytes model;
  auto write = [&](uint64_t offset, size_t length) {
    const Bytes data = RandomBytes(length, rng_);
    ASSERT_TRUE(IsOk(buffer.Write(file, offset, data)));
    ModelWrite(model, offset, data);
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
TEST_P(WriteBackTest, SealedWritesFallBackWhenTheFileShrinksUnderThem) {
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
// some ending mid-chunk, with commits and reads in between: the file
// always reads as the model, on disk and through the buffer.
TEST_P(WriteBackTest, ConcurrentWholeChunkStreamsMatchTheModel) {
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
        if (!buffer.Write(file, starts[p], piece).ok()) ++failures;
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
  // Making room means writing out this file's own earlier data.
  EXPECT_TRUE(
      HasCode(buffer.Write(file, 2 * kChunk, RandomBytes(2 * kChunk, rng_)), Errc::kPermission));
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

INSTANTIATE_TEST_SUITE_P(Combos, WriteBackTest,
                         ::testing::Values(CipherCombo::kSivGcm, CipherCombo::kSivCtrMac),
                         [](const auto& info) {
                           return info.param == CipherCombo::kSivGcm ? "SivGcm" : "SivCtrMac";
                         });

}  // namespace
}  // namespace server
