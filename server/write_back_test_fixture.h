// The fixture of the WriteBackBuffer tests (write_back_test.cc,
// write_back_sealing_test.cc, write_back_recovery_test.cc) and of the
// ReadAhead tests, which read through the buffer: a fresh master key and directory per test,
// files checked against a plain byte vector per file, on disk (through a
// second EncryptedFile on the same path) and through the buffer.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "server/write_back.h"
#include "tests/testing.h"
#include "vaultcore/codec.h"
#include "vaultcore/content_cryptor.h"
#include "vaultcore/encrypted_file.h"
#include "vaultcore/masterkey.h"

namespace server::write_back_testing {

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

inline Bytes RandomBytes(size_t n, std::mt19937& rng) {
  Bytes out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

// What a POSIX file does on pwrite: zero fill up to `offset`, then overwrite.
inline void ModelWrite(Bytes& model, uint64_t offset, const Bytes& data) {
  if (data.empty()) return;
  if (model.size() < offset + data.size()) model.resize(offset + data.size(), 0);
  std::copy(data.begin(), data.end(), model.begin() + static_cast<ptrdiff_t>(offset));
}

// Tests that must see data stay in the buffer run without the background
// thread, so no timing can move it to disk behind their back.
inline WriteBackBuffer::Options NoIdle(size_t max_bytes = size_t{64} << 20) {
  WriteBackBuffer::Options options;
  options.max_bytes = max_bytes;
  options.idle_flush = std::chrono::milliseconds(0);
  return options;
}

// Polls `done` for up to 10 s; background work gets that long, not a
// fixed delay.
inline bool Eventually(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

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

  // Writes `length` random bytes at `offset` through `buffer`, and the
  // same bytes into `model`.
  void WriteRandom(WriteBackBuffer& buffer, const FilePtr& file, Bytes& model, uint64_t offset,
                   size_t length) {
    const Bytes data = RandomBytes(length, rng_);
    ASSERT_TRUE(IsOk(buffer.Write(file, offset, data)));
    ModelWrite(model, offset, data);
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

  // Flips one ciphertext byte of chunk `index`.
  void Damage(const std::string& path, uint64_t index) {
    std::FILE* f = std::fopen(path.c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    const long at = static_cast<long>(cryptor_->header_size() +
                                      index * cryptor_->ciphertext_chunk_size() + 100);
    ASSERT_EQ(std::fseek(f, at, SEEK_SET), 0);
    const int byte = std::fgetc(f);
    ASSERT_EQ(std::fseek(f, at, SEEK_SET), 0);
    std::fputc(byte ^ 1, f);
    std::fclose(f);
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

inline std::string ComboName(const ::testing::TestParamInfo<CipherCombo>& info) {
  return info.param == CipherCombo::kSivGcm ? "SivGcm" : "SivCtrMac";
}

}  // namespace server::write_back_testing
