// EncryptedFile against a plain byte vector: every read, write and
// truncation must leave exactly the cleartext a POSIX file would hold and
// exactly the ciphertext size spec §7.3 prescribes (no empty final chunk),
// for both cipher combos.
#include "vaultcore/encrypted_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <thread>
#include <vector>

#include "tests/testing.h"
#include "vaultcore/content_cryptor.h"
#include "vaultcore/masterkey.h"
#include "vaultcore/work_sharing.h"

namespace vaultcore {
namespace {

using vaultnfs::testing::TempDir;

constexpr uint64_t kChunk = kCleartextChunkSize;

Bytes RandomBytes(size_t n, std::mt19937& rng) {
  Bytes out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

Bytes ReadRaw(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

void WriteRaw(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// What a POSIX file does on pwrite: zero fill up to `offset`, then overwrite.
void ModelWrite(Bytes& model, uint64_t offset, const Bytes& data) {
  if (data.empty()) return;
  if (model.size() < offset + data.size()) model.resize(offset + data.size(), 0);
  std::copy(data.begin(), data.end(), model.begin() + static_cast<ptrdiff_t>(offset));
}

// Runs the parts on two helper threads of its own and on the caller.
class ThreadsWorkSharing : public WorkSharing {
 public:
  void ForEach(size_t count, const std::function<void(size_t)>& part) override {
    std::atomic<size_t> next{0};
    auto run = [&](bool helper) {
      for (size_t i = next++; i < count; i = next++) {
        part(i);
        if (helper) ++parts_elsewhere_;
      }
    };
    std::thread first(run, true);
    std::thread second(run, true);
    run(false);
    first.join();
    second.join();
  }
  size_t parts_elsewhere() const { return parts_elsewhere_.load(); }

 private:
  std::atomic<size_t> parts_elsewhere_{0};
};

// Runs the parts last to first on the calling thread: each part must
// depend on no other.
class BackToFrontSharing : public WorkSharing {
 public:
  void ForEach(size_t count, const std::function<void(size_t)>& part) override {
    for (size_t i = count; i-- > 0;) part(i);
    calls_.push_back(count);
  }
  // The count of each ForEach call, in order.
  const std::vector<size_t>& calls() const { return calls_; }

 private:
  std::vector<size_t> calls_;
};

class EncryptedFileTest : public ::testing::TestWithParam<CipherCombo> {
 protected:
  void SetUp() override {
    auto key = MasterKey::Generate();
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    key_ = std::make_unique<MasterKey>(std::move(key).value());
    cryptor_ = MakeContentCryptor(GetParam(), *key_);
  }

  std::string NewPath() { return (dir_.path() / ("f" + std::to_string(next_++))).string(); }

  std::unique_ptr<EncryptedFile> Create(const std::string& path) {
    auto file = EncryptedFile::Create(*cryptor_, path, 0644);
    EXPECT_TRUE(file.ok()) << file.status().ToString();
    return file.ok() ? std::move(file).value() : nullptr;
  }

  std::unique_ptr<EncryptedFile> Open(const std::string& path,
                                      EncryptedFile::Mode mode = EncryptedFile::Mode::kReadWrite) {
    auto file = EncryptedFile::Open(*cryptor_, path, mode);
    EXPECT_TRUE(file.ok()) << file.status().ToString();
    return file.ok() ? std::move(file).value() : nullptr;
  }

  uint64_t CiphertextSize(const EncryptedFile& file) {
    return std::filesystem::file_size(file.path());
  }

  // The whole file, its cleartext size and its ciphertext size all match
  // `model`; a fresh EncryptedFile on the same path agrees (nothing is
  // cached that is not on disk).
  void ExpectContent(const EncryptedFile& file, const Bytes& model) {
    auto size = file.Size();
    ASSERT_TRUE(size.ok()) << size.status().ToString();
    EXPECT_EQ(*size, model.size());
    EXPECT_EQ(CiphertextSize(file), cryptor_->CiphertextSize(model.size()))
        << "cleartext size " << model.size();
    // A regular file never ends with an empty chunk: the ciphertext size
    // must map back to the cleartext size (an extra 28/48 bytes would not).
    EXPECT_EQ(cryptor_->CleartextSize(CiphertextSize(file)), model.size());
    for (const EncryptedFile* reader : {&file, reopened(file.path())}) {
      if (reader == nullptr) continue;
      Bytes got(model.size() + 100, 0xee);
      auto n = reader->Read(0, got);
      ASSERT_TRUE(n.ok()) << n.status().ToString();
      ASSERT_EQ(*n, model.size());
      got.resize(*n);
      ASSERT_TRUE(got == model) << "content differs from the model (size " << model.size() << ")";
    }
  }

  // Random writes and truncations, checked against the model after each;
  // sizes and offsets scale with `scale` (1: up to 3 chunks a write).
  void RandomWritesAndTruncates(uint64_t scale) {
    auto file = Create(NewPath());
    ASSERT_NE(file, nullptr);
    Bytes model;
    // Sizes and offsets cluster around chunk boundaries, where the
    // read-modify-write and the size arithmetic change behaviour.
    auto near_boundary = [&](uint64_t max_chunks) {
      const uint64_t base = (rng_() % (max_chunks + 1)) * kChunk;
      const int64_t delta = static_cast<int64_t>(rng_() % 7) - 3;
      return static_cast<uint64_t>(std::max<int64_t>(0, static_cast<int64_t>(base) + delta));
    };
    for (int step = 0; step < 150; ++step) {
      SCOPED_TRACE("step " + std::to_string(step));
      const int op = static_cast<int>(rng_() % 10);
      if (op < 7) {
        const uint64_t offset =
            rng_() % 2 ? near_boundary(4 * scale) : rng_() % (5 * scale * kChunk);
        const size_t length = rng_() % 2 ? near_boundary(2 * scale) : rng_() % (3 * scale * kChunk);
        const Bytes data = RandomBytes(length, rng_);
        ASSERT_TRUE(file->Write(offset, data).ok());
        ModelWrite(model, offset, data);
      } else {
        const uint64_t size = rng_() % 2 ? near_boundary(5 * scale) : rng_() % (6 * scale * kChunk);
        ASSERT_TRUE(file->Truncate(size).ok());
        model.resize(size, 0);
      }
      ExpectContent(*file, model);
    }
  }

  static constexpr int kWriterThreads = 4;

  // kWriterThreads threads at once, thread t writing only within
  // [t * region, (t + 1) * region) of one new file; `writer` returns what
  // its thread wrote last at t * region, or nothing if a write failed.
  // The file must then hold exactly those last writes.
  void WritersOnDistinctRegions(
      uint64_t region, const std::function<Bytes(EncryptedFile&, int, std::mt19937&)>& writer) {
    auto file = Create(NewPath());
    ASSERT_NE(file, nullptr);
    std::vector<Bytes> final_data(kWriterThreads);
    std::vector<std::thread> threads;
    threads.reserve(kWriterThreads);
    for (int t = 0; t < kWriterThreads; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937 rng(static_cast<unsigned>(t));
        final_data[static_cast<size_t>(t)] = writer(*file, t, rng);
      });
    }
    for (auto& t : threads) t.join();
    Bytes model;
    for (int t = 0; t < kWriterThreads; ++t) {
      ASSERT_FALSE(final_data[static_cast<size_t>(t)].empty())
          << "a write of thread " << t << " failed";
      ModelWrite(model, static_cast<uint64_t>(t) * region, final_data[static_cast<size_t>(t)]);
    }
    ExpectContent(*file, model);
  }

  const EncryptedFile* reopened(const std::string& path) {
    reopened_ = Open(path, EncryptedFile::Mode::kReadOnly);
    return reopened_.get();
  }

  TempDir dir_;
  std::unique_ptr<MasterKey> key_;
  std::unique_ptr<ContentCryptor> cryptor_;
  std::unique_ptr<EncryptedFile> reopened_;
  int next_ = 0;
  std::mt19937 rng_{12345};
};

TEST_P(EncryptedFileTest, NewFileIsJustAHeader) {
  auto file = Create(NewPath());
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(CiphertextSize(*file), cryptor_->header_size());
  EXPECT_TRUE(file->header_nonce().has_value());
  ExpectContent(*file, {});
  Bytes buf(10);
  auto n = file->Read(0, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
}

TEST_P(EncryptedFileTest, CreateIsExclusive) {
  const std::string path = NewPath();
  ASSERT_NE(Create(path), nullptr);
  auto again = EncryptedFile::Create(*cryptor_, path, 0644);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), Errc::kExists);
}

TEST_P(EncryptedFileTest, ReadsAnyRange) {
  auto file = Create(NewPath());
  ASSERT_NE(file, nullptr);
  // Three full chunks and a partial fourth.
  const Bytes model = RandomBytes(3 * kChunk + 1000, rng_);
  ASSERT_TRUE(file->Write(0, model).ok());
  ExpectContent(*file, model);

  const uint64_t size = model.size();
  const std::vector<uint64_t> offsets = {
      0,          1,          kChunk - 1, kChunk, kChunk + 1, 2 * kChunk - 1,
      2 * kChunk, 3 * kChunk, size - 1,   size,   size + 1,   size + 10 * kChunk};
  const std::vector<size_t> lengths = {
      0, 1, 2, kChunk - 1, kChunk, kChunk + 1, 2 * kChunk, 3 * kChunk + 1, 5 * kChunk};
  for (uint64_t offset : offsets) {
    for (size_t length : lengths) {
      SCOPED_TRACE("offset " + std::to_string(offset) + " length " + std::to_string(length));
      Bytes got(length, 0xee);
      auto n = file->Read(offset, got);
      ASSERT_TRUE(n.ok()) << n.status().ToString();
      // Reads stop at end of file; past it they return 0 bytes, not an error.
      const size_t expected = offset >= size ? 0 : std::min<uint64_t>(length, size - offset);
      ASSERT_EQ(*n, expected);
      ASSERT_TRUE(std::equal(got.begin(), got.begin() + static_cast<ptrdiff_t>(expected),
                             model.begin() + static_cast<ptrdiff_t>(std::min(offset, size))));
      // Bytes beyond what was read are left alone.
      ASSERT_TRUE(std::all_of(got.begin() + static_cast<ptrdiff_t>(expected), got.end(),
                              [](uint8_t b) { return b == 0xee; }));
    }
  }
}

TEST_P(EncryptedFileTest, WritesAtOffsets) {
  auto file = Create(NewPath());
  ASSERT_NE(file, nullptr);
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
      {"far past EOF (zero fill over whole chunks)", 4 * kChunk + 7, 33},
      {"ending exactly on a chunk boundary", 3 * kChunk, kChunk},
      {"spanning three chunks unaligned", kChunk + 1, 2 * kChunk + 3},
      {"whole chunks aligned", kChunk, 2 * kChunk},
      {"one byte past a partial last chunk", 5 * kChunk + 1, 1},
      {"single byte in the middle", 2 * kChunk + 12345, 1},
  };
  for (const Step& step : steps) {
    SCOPED_TRACE(step.what);
    const Bytes data = RandomBytes(step.length, rng_);
    Status s = file->Write(step.offset, data);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ModelWrite(model, step.offset, data);
    ExpectContent(*file, model);
  }
}

TEST_P(EncryptedFileTest, WriteFarPastEndFillsZeros) {
  auto file = Create(NewPath());
  ASSERT_NE(file, nullptr);
  Bytes model = RandomBytes(1000, rng_);
  ASSERT_TRUE(file->Write(0, model).ok());
  // More than one batch of chunks in the gap (the writer encrypts in
  // batches) and an unaligned end.
  const uint64_t offset = 40 * kChunk + 17;
  const Bytes data = RandomBytes(2 * kChunk + 5, rng_);
  ASSERT_TRUE(file->Write(offset, data).ok());
  ModelWrite(model, offset, data);
  ExpectContent(*file, model);
  Bytes gap(kChunk);
  auto n = file->Read(20 * kChunk, gap);
  ASSERT_TRUE(n.ok());
  EXPECT_TRUE(std::all_of(gap.begin(), gap.end(), [](uint8_t b) { return b == 0; }));
}

TEST_P(EncryptedFileTest, LargeWriteSpanningManyBatches) {
  auto file = Create(NewPath());
  ASSERT_NE(file, nullptr);
  Bytes model;
  const Bytes data = RandomBytes(70 * kChunk + 3, rng_);
  ASSERT_TRUE(file->Write(7, data).ok());
  ModelWrite(model, 7, data);
  ExpectContent(*file, model);
  // Overwrite a range crossing a batch boundary in the middle.
  const Bytes patch = RandomBytes(5 * kChunk, rng_);
  ASSERT_TRUE(file->Write(30 * kChunk - 3, patch).ok());
  ModelWrite(model, 30 * kChunk - 3, patch);
  ExpectContent(*file, model);
}

TEST_P(EncryptedFileTest, EmptyWriteChangesNothing) {
  auto file = Create(NewPath());
  ASSERT_NE(file, nullptr);
  const Bytes model = RandomBytes(10, rng_);
  ASSERT_TRUE(file->Write(0, model).ok());
  // POSIX: a 0-byte write does not extend the file, even past EOF.
  ASSERT_TRUE(file->Write(5 * kChunk, {}).ok());
  ExpectContent(*file, model);
}

TEST_P(EncryptedFileTest, TruncateShrinks) {
  auto file = Create(NewPath());
  ASSERT_NE(file, nullptr);
  Bytes model = RandomBytes(4 * kChunk + 500, rng_);
  ASSERT_TRUE(file->Write(0, model).ok());
  for (uint64_t size : {4 * kChunk + 499, 3 * kChunk + 1, 3 * kChunk, 2 * kChunk + 100, kChunk + 1,
                        kChunk, kChunk - 1, uint64_t{1}, uint64_t{0}}) {
    SCOPED_TRACE("truncate to " + std::to_string(size));
    Status s = file->Truncate(size);
    ASSERT_TRUE(s.ok()) << s.ToString();
    model.resize(size);
    ExpectContent(*file, model);
  }
  // Shrinking to 0 leaves the header, so the file keeps its identity.
  EXPECT_EQ(CiphertextSize(*file), cryptor_->header_size());
}

TEST_P(EncryptedFileTest, TruncateGrowsWithZeros) {
  auto file = Create(NewPath());
  ASSERT_NE(file, nullptr);
  Bytes model;
  for (uint64_t size : {uint64_t{0}, uint64_t{5}, kChunk - 1, kChunk, kChunk + 1, 3 * kChunk,
                        3 * kChunk + 77, 40 * kChunk + 1}) {
    SCOPED_TRACE("truncate to " + std::to_string(size));
    // Random bytes at the old end, so a grow that does not zero the old
    // last chunk's tail (or misplaces the old bytes) shows.
    if (!model.empty()) {
      const Bytes tail = RandomBytes(std::min<size_t>(model.size(), 3), rng_);
      ASSERT_TRUE(file->Write(model.size() - tail.size(), tail).ok());
      ModelWrite(model, model.size() - tail.size(), tail);
    }
    Status s = file->Truncate(size);
    ASSERT_TRUE(s.ok()) << s.ToString();
    model.resize(size, 0);
    ExpectContent(*file, model);
  }
}

TEST_P(EncryptedFileTest, TruncateToSameSizeKeepsCiphertext) {
  const std::string path = NewPath();
  auto file = Create(path);
  ASSERT_NE(file, nullptr);
  ASSERT_TRUE(file->Write(0, RandomBytes(kChunk + 10, rng_)).ok());
  const Bytes before = ReadRaw(path);
  ASSERT_TRUE(file->Truncate(kChunk + 10).ok());
  EXPECT_TRUE(ReadRaw(path) == before);
}

TEST_P(EncryptedFileTest, RandomWritesAndTruncatesMatchModel) { RandomWritesAndTruncates(1); }

// With a WorkSharing in scope, reads and writes of many chunks run their
// chunks on several threads at once; the result must be the same. Larger
// writes cross the 32-chunk batches a rewrite is cut into.
TEST_P(EncryptedFileTest, SharedChunkWorkMatchesModel) {
  ThreadsWorkSharing sharing;
  const WorkSharing::Scope scope(&sharing);
  RandomWritesAndTruncates(14);
  EXPECT_GT(sharing.parts_elsewhere(), 0u);
}

// A tampered chunk among many read at once fails the whole read, and
// nothing decrypted by any thread is left in the buffer.
TEST_P(EncryptedFileTest, SharedReadOfATamperedChunkFailsWhole) {
  const std::string path = NewPath();
  auto file = Create(path);
  ASSERT_NE(file, nullptr);
  const Bytes data = RandomBytes(12 * kChunk, rng_);
  ASSERT_TRUE(file->Write(0, data).ok());
  Bytes raw = ReadRaw(path);
  raw[cryptor_->header_size() + 9 * cryptor_->ciphertext_chunk_size() + 100] ^= 1;
  WriteRaw(path, raw);

  ThreadsWorkSharing sharing;
  const WorkSharing::Scope scope(&sharing);
  auto reader = Open(path, EncryptedFile::Mode::kReadOnly);
  ASSERT_NE(reader, nullptr);
  Bytes out(data.size(), 0xee);
  auto n = reader->Read(0, out);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), Errc::kCorrupt);
  EXPECT_NE(n.status().message().find("chunk 9"), std::string::npos) << n.status().ToString();
  EXPECT_TRUE(std::all_of(out.begin(), out.end(), [](uint8_t b) { return b == 0; }));
}

// The base of a partial rewrite: an intact chunk reads, a damaged one is
// reported as such (not as an error) with nothing of it left in `out`.
TEST_P(EncryptedFileTest, ReadChunkForRewriteTellsADamagedChunkFromAnError) {
  const std::string path = NewPath();
  auto file = Create(path);
  ASSERT_NE(file, nullptr);
  const Bytes data = RandomBytes(3 * kChunk, rng_);
  ASSERT_TRUE(file->Write(0, data).ok());
  Bytes out(kChunk);
  auto intact = file->ReadChunkForRewrite(1, out);
  ASSERT_TRUE(intact.ok() && *intact);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), data.begin() + kChunk));

  Bytes raw = ReadRaw(path);
  raw[cryptor_->header_size() + cryptor_->ciphertext_chunk_size() + 100] ^= 1;
  WriteRaw(path, raw);
  intact = file->ReadChunkForRewrite(1, out);
  ASSERT_TRUE(intact.ok());
  EXPECT_FALSE(*intact);
  EXPECT_TRUE(std::all_of(out.begin(), out.end(), [](uint8_t b) { return b == 0; }));
  EXPECT_EQ(file->ReadChunkForRewrite(3, out).status().code(), Errc::kInvalidArgument);
}

// A file cut short inside its last chunk (a crash while it grew) is padded
// to a whole chunk so it can grow past it; the chunk stays unreadable. An
// intact short last chunk and a file ending on a chunk are left alone.
TEST_P(EncryptedFileTest, PadUnreadableTailPadsOnlyATornLastChunk) {
  const std::string path = NewPath();
  auto file = Create(path);
  ASSERT_NE(file, nullptr);
  const Bytes data = RandomBytes(3 * kChunk + 500, rng_);
  ASSERT_TRUE(file->Write(0, data).ok());
  auto padded = file->PadUnreadableTail();
  ASSERT_TRUE(padded.ok() && !*padded);
  EXPECT_EQ(std::filesystem::file_size(path), cryptor_->CiphertextSize(data.size()));

  std::filesystem::resize_file(path,
                               cryptor_->header_size() + cryptor_->ciphertext_chunk_size() + 9000);
  padded = file->PadUnreadableTail();
  ASSERT_TRUE(padded.ok() && *padded);
  EXPECT_EQ(std::filesystem::file_size(path), cryptor_->CiphertextSize(2 * kChunk));
  Bytes out(kChunk);
  EXPECT_EQ(file->Read(kChunk, out).status().code(), Errc::kCorrupt);
  const Bytes next = RandomBytes(kChunk, rng_);
  ASSERT_TRUE(file->Write(2 * kChunk, next).ok());
  ASSERT_TRUE(file->Read(2 * kChunk, out).ok());
  EXPECT_TRUE(out == next);
  ASSERT_TRUE(file->Read(0, out).ok());
  EXPECT_TRUE(std::equal(out.begin(), out.end(), data.begin()));
  padded = file->PadUnreadableTail();
  ASSERT_TRUE(padded.ok() && !*padded);
}

// Cut within the overhead of a new last chunk, the file has an impossible
// size; the fragment holds no cleartext and is dropped. Nothing else is.
TEST_P(EncryptedFileTest, DropTornFragmentDropsOnlyAChunkWithoutCleartext) {
  const std::string path = NewPath();
  auto file = Create(path);
  ASSERT_NE(file, nullptr);
  const Bytes data = RandomBytes(2 * kChunk + 100, rng_);
  ASSERT_TRUE(file->Write(0, data).ok());
  auto dropped = file->DropTornFragment();
  ASSERT_TRUE(dropped.ok() && !*dropped);
  EXPECT_EQ(std::filesystem::file_size(path), cryptor_->CiphertextSize(data.size()));

  std::filesystem::resize_file(path, cryptor_->CiphertextSize(2 * kChunk) + 5);
  EXPECT_EQ(file->Size().status().code(), Errc::kCorrupt);
  dropped = file->DropTornFragment();
  ASSERT_TRUE(dropped.ok() && *dropped);
  auto size = file->Size();
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 2 * kChunk);
  Bytes out(2 * kChunk);
  ASSERT_TRUE(file->Read(0, out).ok());
  EXPECT_TRUE(std::equal(out.begin(), out.end(), data.begin()));
}

TEST_P(EncryptedFileTest, ZeroByteCiphertextIsAnEmptyFile) {
  // A crash before the header was written (or another tool) leaves 0 bytes.
  const std::string path = NewPath();
  WriteRaw(path, {});
  {
    auto file = Open(path, EncryptedFile::Mode::kReadOnly);
    ASSERT_NE(file, nullptr);
    EXPECT_FALSE(file->header_nonce().has_value());
    auto size = file->Size();
    ASSERT_TRUE(size.ok());
    EXPECT_EQ(*size, 0u);
    Bytes buf(100, 0xee);
    auto n = file->Read(0, buf);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(*n, 0u);
    // Reading must not have written anything.
    EXPECT_EQ(std::filesystem::file_size(path), 0u);
  }
  auto file = Open(path);
  ASSERT_NE(file, nullptr);
  const Bytes data = RandomBytes(kChunk + 3, rng_);
  ASSERT_TRUE(file->Write(5, data).ok());
  ASSERT_TRUE(file->header_nonce().has_value());
  Bytes model;
  ModelWrite(model, 5, data);
  ExpectContent(*file, model);
}

TEST_P(EncryptedFileTest, ZeroByteCiphertextGetsHeaderOnTruncate) {
  for (uint64_t size : {uint64_t{0}, uint64_t{10}, kChunk}) {
    SCOPED_TRACE("truncate to " + std::to_string(size));
    const std::string path = NewPath();
    WriteRaw(path, {});
    auto file = Open(path);
    ASSERT_NE(file, nullptr);
    ASSERT_TRUE(file->Truncate(size).ok());
    ExpectContent(*file, Bytes(size, 0));
    EXPECT_TRUE(file->header_nonce().has_value());
  }
}

TEST_P(EncryptedFileTest, ReaderSeesHeaderWrittenByAnotherObject) {
  // One object opened the file while it had 0 bytes; another one gives it
  // a header and content. The first must load the header, not misread.
  const std::string path = NewPath();
  WriteRaw(path, {});
  auto early = Open(path, EncryptedFile::Mode::kReadOnly);
  ASSERT_NE(early, nullptr);
  auto writer = Open(path);
  ASSERT_NE(writer, nullptr);
  const Bytes data = RandomBytes(kChunk + 10, rng_);
  ASSERT_TRUE(writer->Write(0, data).ok());
  Bytes got(data.size());
  auto n = early->Read(0, got);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, data.size());
  EXPECT_TRUE(got == data);
}

TEST_P(EncryptedFileTest, HeaderIsNeverRewritten) {
  const std::string path = NewPath();
  auto file = Create(path);
  ASSERT_NE(file, nullptr);
  const auto nonce = file->header_nonce();
  ASSERT_TRUE(nonce.has_value());
  const Bytes header = [&] {
    Bytes raw = ReadRaw(path);
    raw.resize(cryptor_->header_size());
    return raw;
  }();
  auto expect_same_header = [&](const char* after) {
    SCOPED_TRACE(after);
    EXPECT_EQ(file->header_nonce(), nonce);
    Bytes raw = ReadRaw(path);
    ASSERT_GE(raw.size(), header.size());
    raw.resize(header.size());
    EXPECT_TRUE(raw == header);
  };
  ASSERT_TRUE(file->Write(0, RandomBytes(3 * kChunk, rng_)).ok());
  expect_same_header("write");
  ASSERT_TRUE(file->Write(10 * kChunk, RandomBytes(10, rng_)).ok());
  expect_same_header("write past EOF");
  ASSERT_TRUE(file->Truncate(kChunk + 1).ok());
  expect_same_header("shrink");
  ASSERT_TRUE(file->Truncate(0).ok());
  expect_same_header("truncate to 0");
  ASSERT_TRUE(file->Truncate(2 * kChunk).ok());
  expect_same_header("grow");
  auto again = Open(path);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->header_nonce(), nonce);
}

TEST_P(EncryptedFileTest, RewrittenChunkGetsFreshNonce) {
  const std::string path = NewPath();
  auto file = Create(path);
  ASSERT_NE(file, nullptr);
  const Bytes data = RandomBytes(100, rng_);
  ASSERT_TRUE(file->Write(0, data).ok());
  const Bytes first = ReadRaw(path);
  ASSERT_TRUE(file->Write(0, data).ok());  // same cleartext again
  const Bytes second = ReadRaw(path);
  ASSERT_EQ(first.size(), second.size());
  const size_t h = cryptor_->header_size();
  const size_t nonce = cryptor_->nonce_size();
  // Reusing a chunk nonce under the same content key would be fatal for GCM.
  EXPECT_FALSE(std::equal(first.begin() + h, first.begin() + h + nonce, second.begin() + h));
}

TEST_P(EncryptedFileTest, ReadOnlyRefusesChanges) {
  const std::string path = NewPath();
  {
    auto file = Create(path);
    ASSERT_NE(file, nullptr);
    ASSERT_TRUE(file->Write(0, RandomBytes(10, rng_)).ok());
  }
  const Bytes before = ReadRaw(path);
  auto file = Open(path, EncryptedFile::Mode::kReadOnly);
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->Write(0, RandomBytes(5, rng_)).code(), Errc::kPermission);
  EXPECT_EQ(file->Truncate(0).code(), Errc::kPermission);
  EXPECT_TRUE(ReadRaw(path) == before);
}

TEST_P(EncryptedFileTest, ConcurrentReadersAndWriter) {
  const std::string path = NewPath();
  auto file = Create(path);
  ASSERT_NE(file, nullptr);
  // Two stable regions around one the writer keeps replacing. The writer's
  // region starts and ends inside chunks the readers also read, so its
  // read-modify-write of those chunks races with them unless the file
  // serialises correctly.
  const uint64_t size = 6 * kChunk;
  const uint64_t w_begin = 2 * kChunk + 100;
  const uint64_t w_end = 4 * kChunk - 100;
  Bytes model = RandomBytes(size, rng_);
  ASSERT_TRUE(file->Write(0, model).ok());
  const Bytes pattern_a(w_end - w_begin, 0xaa);
  const Bytes pattern_b(w_end - w_begin, 0xbb);
  ASSERT_TRUE(file->Write(w_begin, pattern_a).ok());
  ModelWrite(model, w_begin, pattern_a);

  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  auto reader = [&](uint64_t begin, uint64_t end) {
    Bytes got(end - begin);
    do {
      auto n = file->Read(begin, got);
      if (!n.ok() || *n != got.size() ||
          !std::equal(got.begin(), got.end(), model.begin() + static_cast<ptrdiff_t>(begin))) {
        ++failures;
        return;
      }
    } while (!done.load());
  };
  // Sees the writer's region whole: all A or all B, never a mix, since a
  // write is one exclusive operation.
  auto region_reader = [&] {
    Bytes got(w_end - w_begin);
    do {
      auto n = file->Read(w_begin, got);
      if (!n.ok() || *n != got.size() || (got != pattern_a && got != pattern_b)) {
        ++failures;
        return;
      }
    } while (!done.load());
  };
  std::vector<std::thread> threads;
  threads.emplace_back(reader, 0, w_begin);
  threads.emplace_back(reader, w_end, size);
  threads.emplace_back(reader, kChunk - 10, kChunk + 10);
  threads.emplace_back(region_reader);
  threads.emplace_back(region_reader);
  Status write_status;
  for (int i = 0; i < 100 && write_status.ok(); ++i) {
    write_status = file->Write(w_begin, i % 2 ? pattern_a : pattern_b);
    // Grow and shrink past the readers' ranges: the size changes under them.
    if (i % 10 == 0 && write_status.ok()) write_status = file->Truncate(size + 100);
    if (i % 10 == 0 && write_status.ok()) write_status = file->Truncate(size);
  }
  done = true;
  for (auto& t : threads) t.join();
  EXPECT_TRUE(write_status.ok()) << write_status.ToString();
  EXPECT_EQ(failures.load(), 0);
  ModelWrite(model, w_begin, pattern_a);  // the last write (i = 99) was A
  ExpectContent(*file, model);
}

TEST_P(EncryptedFileTest, ConcurrentWritersOnDistinctRegions) {
  // Each thread owns a region that starts and ends mid-chunk, so
  // neighbours share chunks and their read-modify-writes must not lose
  // each other's bytes.
  constexpr uint64_t kRegion = kChunk + 1000;
  WritersOnDistinctRegions(kRegion, [&](EncryptedFile& file, int t, std::mt19937& rng) {
    Bytes data;
    for (int i = 0; i < 20; ++i) {
      data = RandomBytes(kRegion, rng);
      if (!file.Write(static_cast<uint64_t>(t) * kRegion, data).ok()) return Bytes();
    }
    return data;
  });
}

// Writers of whole chunks at once: what lands must be exactly what each
// thread wrote last, wherever the file's end was at each write (lower
// regions start past the end of file, a hole, until higher ones exist).
TEST_P(EncryptedFileTest, ConcurrentWholeChunkWritersOfOneFile) {
  constexpr uint64_t kRegion = 8 * kChunk;
  WritersOnDistinctRegions(kRegion, [&](EncryptedFile& file, int t, std::mt19937& rng) {
    const uint64_t base = static_cast<uint64_t>(t) * kRegion;
    // The last region ends mid-chunk: its last chunk is the file's.
    const uint64_t length = t == kWriterThreads - 1 ? kRegion - 5000 : kRegion;
    for (int i = 0; i < 20; ++i) {
      const uint64_t first = rng() % 8 * kChunk;
      if (!file.Write(base + first, RandomBytes(std::min(length - first, 3 * kChunk), rng)).ok()) {
        return Bytes();
      }
    }
    Bytes data = RandomBytes(length, rng);
    return file.Write(base, data).ok() ? data : Bytes();
  });
}

// Seal then WriteSealed: the same file as Write makes, for a write that
// may stand on its own; nothing changed, and false, for one that may not.
TEST_P(EncryptedFileTest, SealedWritesStandOnlyWhereTheyLeaveAValidFile) {
  const std::string path = NewPath();
  WriteRaw(path, {});  // no header yet: Seal makes it
  auto file = Open(path);
  ASSERT_NE(file, nullptr);
  Bytes model;
  Bytes sealed;
  auto seal = [&](uint64_t offset, const Bytes& data) {
    sealed.assign(file->SealedSize(data.size()), 0);
    EXPECT_TRUE(file->Seal(offset, data, sealed).ok());
    EXPECT_TRUE(file->header_nonce().has_value());
  };
  auto write_sealed = [&](uint64_t offset, size_t length, bool lands) {
    SCOPED_TRACE("sealed write of " + std::to_string(length) + " at " + std::to_string(offset));
    const Bytes data = RandomBytes(length, rng_);
    seal(offset, data);
    const Bytes before = ReadRaw(path);
    auto landed = file->WriteSealed(offset, length, sealed);
    ASSERT_TRUE(landed.ok()) << landed.status().ToString();
    EXPECT_EQ(*landed, lands);
    if (lands) {
      ModelWrite(model, offset, data);
    } else {
      EXPECT_TRUE(ReadRaw(path) == before);
    }
    ExpectContent(*file, model);
  };
  write_sealed(kChunk, kChunk, false);             // a gap before it
  write_sealed(0, 2 * kChunk + 7, true);           // a short last chunk as the file's last
  write_sealed(0, kChunk + 1, false);              // a short chunk before the end
  write_sealed(kChunk, kChunk, true);              // whole chunks within the file
  write_sealed(2 * kChunk, kChunk, true);          // over the short last chunk: now whole
  write_sealed(3 * kChunk, 3 * kChunk + 1, true);  // appended at the end
  write_sealed(7 * kChunk, kChunk, false);         // past the end

  // A shared seal encrypts its chunks in any order: the same file.
  BackToFrontSharing sharing;
  const WorkSharing::Scope scope(&sharing);
  write_sealed(kChunk, 8 * kChunk, true);
  ASSERT_FALSE(sharing.calls().empty());
  EXPECT_EQ(sharing.calls().front(), 8u);  // the seal's, before the checking reads'

  const Bytes data = RandomBytes(kChunk, rng_);
  sealed.assign(file->SealedSize(data.size()), 0);
  EXPECT_EQ(file->Seal(1, data, sealed).code(), Errc::kInvalidArgument);
  EXPECT_EQ(file->WriteSealed(1, data.size(), sealed).status().code(), Errc::kInvalidArgument);
  EXPECT_EQ(file->WriteSealed(0, data.size() + 1, sealed).status().code(), Errc::kInvalidArgument);
  auto reader = Open(path, EncryptedFile::Mode::kReadOnly);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->Seal(0, data, sealed).code(), Errc::kPermission);
  EXPECT_EQ(reader->WriteSealed(0, data.size(), sealed).status().code(), Errc::kPermission);
  ExpectContent(*file, model);
}

INSTANTIATE_TEST_SUITE_P(Combos, EncryptedFileTest,
                         ::testing::Values(CipherCombo::kSivGcm, CipherCombo::kSivCtrMac),
                         [](const auto& info) {
                           return info.param == CipherCombo::kSivGcm ? "SivGcm" : "SivCtrMac";
                         });

// dirid.c9r and symlink.c9r are written as streams; a regular file is not.
TEST(SmallEncryptedFileTest, RoundTripsWithAndWithoutFinalEmptyChunk) {
  auto key = MasterKey::Generate();
  ASSERT_TRUE(key.ok());
  TempDir dir;
  int i = 0;
  for (CipherCombo combo : {CipherCombo::kSivGcm, CipherCombo::kSivCtrMac}) {
    const auto cryptor = MakeContentCryptor(combo, *key);
    for (const std::string& content :
         {std::string(), std::string("e9250eb8-078d-4fc0-8835-be92a313360c"),
          std::string(kChunk, 'x'), std::string(kChunk + 1, 'y')}) {
      for (bool final_empty : {false, true}) {
        const std::string path = (dir.path() / ("s" + std::to_string(i++))).string();
        Status s = WriteSmallEncryptedFile(*cryptor, path, content, final_empty);
        ASSERT_TRUE(s.ok()) << s.ToString();
        const uint64_t expected =
            cryptor->CiphertextSize(content.size()) +
            (final_empty && content.size() % kChunk == 0 ? cryptor->chunk_overhead() : 0);
        EXPECT_EQ(std::filesystem::file_size(path), expected);
        auto read = ReadSmallEncryptedFile(*cryptor, path, 2 * kChunk);
        ASSERT_TRUE(read.ok()) << read.status().ToString();
        EXPECT_EQ(*read, content);
      }
    }
  }
}

}  // namespace
}  // namespace vaultcore
