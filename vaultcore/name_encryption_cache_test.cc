#include "vaultcore/name_encryption_cache.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace vaultcore {
namespace {

constexpr std::string_view kDir = "5a0f9b3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b";

TEST(NameEncryptionCacheTest, FindsWhatWasPutForTheSameDirectoryAndName) {
  NameEncryptionCache cache(1 << 20);
  EXPECT_FALSE(cache.Find(kDir, "notes.txt"));
  cache.Put(kDir, "notes.txt", "QUJD.c9r");
  EXPECT_EQ(cache.Find(kDir, "notes.txt"), "QUJD.c9r");
  EXPECT_FALSE(cache.Find("", "notes.txt"));  // the root's id is empty
  EXPECT_FALSE(cache.Find(kDir, "notes.txt2"));
}

TEST(NameEncryptionCacheTest, DirectoryAndNameDoNotRunTogether) {
  NameEncryptionCache cache(1 << 20);
  cache.Put("ab", "c", "first.c9r");
  cache.Put("a", "bc", "second.c9r");
  EXPECT_EQ(cache.Find("ab", "c"), "first.c9r");
  EXPECT_EQ(cache.Find("a", "bc"), "second.c9r");
}

TEST(NameEncryptionCacheTest, StartsAgainWhenFullAndNeverHoldsMoreThanItsBound) {
  const size_t bound = 4096;
  NameEncryptionCache cache(bound);
  for (int i = 0; i < 1000; ++i) {
    const std::string name = "file-" + std::to_string(i);
    cache.Put(kDir, name, name + ".c9r");
    ASSERT_LE(cache.bytes(), bound);
    // The newest entry always survives the start-over it may have caused.
    ASSERT_EQ(cache.Find(kDir, name), name + ".c9r");
  }
  EXPECT_FALSE(cache.Find(kDir, "file-0"));
}

TEST(NameEncryptionCacheTest, AnEntryLargerThanTheBoundIsNotKept) {
  NameEncryptionCache cache(256);
  cache.Put(kDir, std::string(300, 'n'), "x.c9r");
  EXPECT_FALSE(cache.Find(kDir, std::string(300, 'n')));
  EXPECT_EQ(cache.bytes(), 0U);
}

TEST(NameEncryptionCacheTest, ThreadsSeeWholeEntriesOnly) {
  NameEncryptionCache cache(16 << 10);  // small: threads also race the start-overs
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache] {
      for (int i = 0; i < 5000; ++i) {
        const std::string name = "n" + std::to_string(i % 300);
        if (auto found = cache.Find(kDir, name)) {
          ASSERT_EQ(*found, name + ".c9r");
        } else {
          cache.Put(kDir, name, name + ".c9r");
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_LE(cache.bytes(), 16U << 10);
}

}  // namespace
}  // namespace vaultcore
