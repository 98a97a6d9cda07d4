#include "vaultcore/attribute_cache.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace vaultcore {
namespace {

using namespace std::chrono_literals;

Attributes FileOfSize(uint64_t size, uint64_t fileid = 0) {
  Attributes attr;
  attr.kind = NodeKind::kFile;
  attr.size = size;
  attr.fileid = fileid;
  return attr;
}

TEST(AttributeCacheTest, OffByDefault) {
  AttributeCache cache;
  cache.Put("/a", cache.generation(), FileOfSize(1));
  EXPECT_FALSE(cache.Get("/a", NodeKind::kFile));
}

TEST(AttributeCacheTest, HitsWithinTheTtlForTheSameKind) {
  AttributeCache cache;
  cache.set_ttl(1h);
  cache.Put("/a", cache.generation(), FileOfSize(7));
  auto hit = cache.Get("/a", NodeKind::kFile);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->size, 7u);
  EXPECT_FALSE(cache.Get("/a", NodeKind::kDirectory));
  EXPECT_FALSE(cache.Get("/b", NodeKind::kFile));
}

TEST(AttributeCacheTest, AnyChangeDropsEverything) {
  AttributeCache cache;
  cache.set_ttl(1h);
  cache.Put("/a", cache.generation(), FileOfSize(1));
  cache.NoteChange();
  EXPECT_FALSE(cache.Get("/a", NodeKind::kFile));
  cache.Put("/a", cache.generation(), FileOfSize(2));
  EXPECT_EQ(cache.Get("/a", NodeKind::kFile)->size, 2u);
}

TEST(AttributeCacheTest, AFileChangeDropsThatFileAlone) {
  AttributeCache cache;
  cache.set_ttl(1h);
  cache.Put("/a", cache.generation(), FileOfSize(1, 10));
  cache.Put("/b", cache.generation(), FileOfSize(2, 11));
  cache.NoteFileChange(10);
  EXPECT_FALSE(cache.Get("/a", NodeKind::kFile));
  EXPECT_EQ(cache.Get("/b", NodeKind::kFile)->size, 2u);
  cache.Put("/a", cache.generation(), FileOfSize(3, 10));
  EXPECT_EQ(cache.Get("/a", NodeKind::kFile)->size, 3u);
}

TEST(AttributeCacheTest, AFileChangeFindsAFileCachedUnderItsNewPath) {
  AttributeCache cache;
  cache.set_ttl(1h);
  cache.Put("/old", cache.generation(), FileOfSize(1, 10));
  // Renamed by someone else: the same object, read under its new path.
  cache.Put("/new", cache.generation(), FileOfSize(1, 10));
  EXPECT_FALSE(cache.Get("/old", NodeKind::kFile)) << "one path per file";
  cache.NoteFileChange(10);
  EXPECT_FALSE(cache.Get("/new", NodeKind::kFile));
}

TEST(AttributeCacheTest, APathReadAgainAsAnotherFileFollowsTheNewFile) {
  AttributeCache cache;
  cache.set_ttl(1h);
  cache.Put("/a", cache.generation(), FileOfSize(1, 10));
  cache.Put("/a", cache.generation(), FileOfSize(2, 11));  // replaced by someone else
  cache.NoteFileChange(10);
  EXPECT_EQ(cache.Get("/a", NodeKind::kFile)->size, 2u) << "the old file's change is not its";
  cache.NoteFileChange(11);
  EXPECT_FALSE(cache.Get("/a", NodeKind::kFile));
}

TEST(AttributeCacheTest, ForgetDropsOnePath) {
  AttributeCache cache;
  cache.set_ttl(1h);
  cache.Put("/a", cache.generation(), FileOfSize(1));
  cache.Put("/b", cache.generation(), FileOfSize(2));
  cache.Forget("/a");
  EXPECT_FALSE(cache.Get("/a", NodeKind::kFile));
  EXPECT_EQ(cache.Get("/b", NodeKind::kFile)->size, 2u);
}

TEST(AttributeCacheTest, AStampIsFreshUntilAChangeAForgetOrTheTtl) {
  AttributeCache cache;
  EXPECT_FALSE(cache.IsFresh(cache.Now())) << "the cache is off";
  cache.set_ttl(1h);
  const AttributeCache::Stamp stamp = cache.Now();
  EXPECT_TRUE(cache.IsFresh(stamp));
  cache.NoteChange();
  EXPECT_FALSE(cache.IsFresh(stamp));

  const AttributeCache::Stamp before_forget = cache.Now();
  cache.Forget("/gone");
  EXPECT_FALSE(cache.IsFresh(before_forget));

  cache.set_ttl(1ms);
  const AttributeCache::Stamp short_lived = cache.Now();
  std::this_thread::sleep_for(5ms);
  EXPECT_FALSE(cache.IsFresh(short_lived));
}

TEST(AttributeCacheTest, WhatWasReadBeforeAChangeIsNotKept) {
  AttributeCache cache;
  cache.set_ttl(1h);
  const uint64_t before = cache.generation();
  // A change lands between reading the disk and Put: what was read may
  // predate it.
  cache.NoteChange();
  cache.Put("/a", before, FileOfSize(1));
  EXPECT_FALSE(cache.Get("/a", NodeKind::kFile));
}

TEST(AttributeCacheTest, WhatWasReadBeforeAFileChangeIsNotKept) {
  AttributeCache cache;
  cache.set_ttl(1h);
  const uint64_t before = cache.generation();
  cache.NoteFileChange(10);
  cache.Put("/a", before, FileOfSize(1, 10));
  EXPECT_FALSE(cache.Get("/a", NodeKind::kFile));
}

TEST(AttributeCacheTest, CatchUpNamesTheFilesChangedSinceAStamp) {
  AttributeCache cache;
  cache.set_ttl(1h);
  const AttributeCache::Stamp stamp = cache.Now();
  std::vector<uint64_t> changed;
  auto caught_up = cache.CatchUp(stamp, &changed);
  ASSERT_TRUE(caught_up) << "nothing changed";
  EXPECT_TRUE(changed.empty());

  cache.NoteFileChange(10);
  cache.NoteFileChange(11);
  cache.NoteFileChange(10);
  EXPECT_FALSE(cache.IsFresh(stamp));
  caught_up = cache.CatchUp(stamp, &changed);
  ASSERT_TRUE(caught_up);
  EXPECT_EQ(changed, (std::vector<uint64_t>{10, 11, 10}));
  EXPECT_TRUE(cache.IsFresh(*caught_up));
  EXPECT_EQ(caught_up->taken, stamp.taken) << "what was not read again is as old as before";
}

TEST(AttributeCacheTest, CatchUpGivesUpWhenItCannotTell) {
  AttributeCache cache;
  std::vector<uint64_t> changed;
  EXPECT_FALSE(cache.CatchUp(cache.Now(), &changed)) << "the cache is off";
  cache.set_ttl(1h);

  const AttributeCache::Stamp before_change = cache.Now();
  cache.NoteFileChange(10);
  cache.NoteChange();
  EXPECT_FALSE(cache.CatchUp(before_change, &changed)) << "more than files changed";

  const AttributeCache::Stamp before_forget = cache.Now();
  cache.Forget("/gone");
  EXPECT_FALSE(cache.CatchUp(before_forget, &changed)) << "a cached path is gone";

  const AttributeCache::Stamp before_many = cache.Now();
  for (uint64_t i = 0; i < AttributeCache::kRememberedFileChanges; ++i) cache.NoteFileChange(i);
  EXPECT_TRUE(cache.CatchUp(before_many, &changed)) << "as many as it remembers";
  cache.NoteFileChange(99);
  EXPECT_FALSE(cache.CatchUp(before_many, &changed)) << "more than it remembers";

  cache.set_ttl(1ms);
  const AttributeCache::Stamp short_lived = cache.Now();
  std::this_thread::sleep_for(5ms);
  EXPECT_FALSE(cache.CatchUp(short_lived, &changed)) << "past the TTL";
}

TEST(AttributeCacheTest, ChangeScopeNotesTheChangeWhenItEnds) {
  AttributeCache cache;
  cache.set_ttl(1h);
  {
    const AttributeCache::ChangeScope change(&cache);
    cache.Put("/a", cache.generation(), FileOfSize(1));  // read mid-change
    EXPECT_TRUE(cache.Get("/a", NodeKind::kFile));
  }
  EXPECT_FALSE(cache.Get("/a", NodeKind::kFile));
  const AttributeCache::ChangeScope no_cache(nullptr);  // files outside a Vault
}

TEST(AttributeCacheTest, AFileChangeScopeNotesAChangeOfThatFile) {
  AttributeCache cache;
  cache.set_ttl(1h);
  cache.Put("/a", cache.generation(), FileOfSize(1, 10));
  cache.Put("/b", cache.generation(), FileOfSize(2, 11));
  { const AttributeCache::ChangeScope change(&cache, 10); }
  EXPECT_FALSE(cache.Get("/a", NodeKind::kFile));
  EXPECT_TRUE(cache.Get("/b", NodeKind::kFile));
}

TEST(AttributeCacheTest, ExpiresAfterTheTtl) {
  AttributeCache cache;
  cache.set_ttl(20ms);
  cache.Put("/a", cache.generation(), FileOfSize(1));
  EXPECT_TRUE(cache.Get("/a", NodeKind::kFile));
  std::this_thread::sleep_for(40ms);
  EXPECT_FALSE(cache.Get("/a", NodeKind::kFile));
}

TEST(AttributeCacheTest, StaysBounded) {
  AttributeCache cache;
  cache.set_ttl(1h);
  for (size_t i = 0; i <= AttributeCache::kMaxEntries; ++i) {
    cache.Put("/f" + std::to_string(i), cache.generation(), FileOfSize(i, i + 1));
  }
  // Full, it started over: the newest is there, the oldest gone.
  EXPECT_TRUE(cache.Get("/f" + std::to_string(AttributeCache::kMaxEntries), NodeKind::kFile));
  EXPECT_FALSE(cache.Get("/f0", NodeKind::kFile));
}

}  // namespace
}  // namespace vaultcore
