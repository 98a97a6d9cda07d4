#include "vaultcore/attribute_cache.h"

#include <gtest/gtest.h>

#include <thread>

namespace vaultcore {
namespace {

using namespace std::chrono_literals;

Attributes FileOfSize(uint64_t size) {
  Attributes attr;
  attr.kind = NodeKind::kFile;
  attr.size = size;
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
    cache.Put("/f" + std::to_string(i), cache.generation(), FileOfSize(i));
  }
  // Full, it started over: the newest is there, the oldest gone.
  EXPECT_TRUE(cache.Get("/f" + std::to_string(AttributeCache::kMaxEntries), NodeKind::kFile));
  EXPECT_FALSE(cache.Get("/f0", NodeKind::kFile));
}

}  // namespace
}  // namespace vaultcore
