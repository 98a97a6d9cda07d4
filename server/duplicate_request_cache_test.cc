#include "server/duplicate_request_cache.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

namespace server {
namespace {

using Verdict = DuplicateRequestCache::Verdict;
using Clock = DuplicateRequestCache::Clock;
using std::chrono::seconds;

// A clock the test moves by hand.
struct FakeClock {
  Clock::time_point now = Clock::time_point() + std::chrono::hours(1);
  DuplicateRequestCache::Now Fn() {
    return [this] { return now; };
  }
};

CallKey Key(uint32_t xid, std::string client = "127.0.0.1") {
  return CallKey{std::move(client), xid, 100003, 3, 12, 0x1234};
}

const std::vector<uint8_t> kReply = {1, 2, 3, 4, 5};

// Begins `key` and completes it with `reply`.
void RunCall(DuplicateRequestCache& cache, const CallKey& key,
             std::vector<uint8_t> reply = kReply) {
  std::vector<uint8_t> ignored;
  ASSERT_EQ(cache.Begin(key, &ignored), Verdict::kNew);
  cache.Complete(key, reply);
}

Verdict Begin(DuplicateRequestCache& cache, const CallKey& key) {
  std::vector<uint8_t> reply;
  return cache.Begin(key, &reply);
}

TEST(DuplicateRequestCacheTest, NewThenInProgressThenReplay) {
  DuplicateRequestCache cache;
  std::vector<uint8_t> reply = {9};
  EXPECT_EQ(cache.Begin(Key(1), &reply), Verdict::kNew);
  EXPECT_EQ(reply, std::vector<uint8_t>{9}) << "untouched unless a replay";
  EXPECT_EQ(cache.Begin(Key(1), &reply), Verdict::kInProgress);
  cache.Complete(Key(1), kReply);
  EXPECT_EQ(cache.Begin(Key(1), &reply), Verdict::kReplay);
  EXPECT_EQ(reply, kReply);
  // As often as it is retransmitted.
  reply.clear();
  EXPECT_EQ(cache.Begin(Key(1), &reply), Verdict::kReplay);
  EXPECT_EQ(reply, kReply);
}

TEST(DuplicateRequestCacheTest, ReplaysAnEmptyReply) {
  DuplicateRequestCache cache;
  RunCall(cache, Key(1), {});
  std::vector<uint8_t> reply = {7};
  EXPECT_EQ(cache.Begin(Key(1), &reply), Verdict::kReplay);
  EXPECT_TRUE(reply.empty());
}

TEST(DuplicateRequestCacheTest, EveryFieldOfTheKeyCounts) {
  DuplicateRequestCache cache;
  const CallKey base = Key(7);
  RunCall(cache, base);
  std::vector<CallKey> others(6, base);
  others[0].client = "127.0.0.2";
  others[1].xid = 8;
  others[2].program = 100005;
  others[3].version = 2;
  others[4].procedure = 8;
  others[5].args_checksum = 0x1235;
  for (const CallKey& other : others) {
    EXPECT_EQ(Begin(cache, other), Verdict::kNew)
        << other.client << " " << other.xid << " " << other.program << " " << other.version << " "
        << other.procedure << " " << other.args_checksum;
  }
  EXPECT_EQ(Begin(cache, base), Verdict::kReplay);
}

TEST(DuplicateRequestCacheTest, ChecksumTellsArgumentsApart) {
  const std::vector<uint8_t> a = {'a', 'b', 'c'};
  const std::vector<uint8_t> b = {'a', 'b', 'd'};
  const std::vector<uint8_t> longer = {'a', 'b', 'c', 0};
  EXPECT_EQ(DuplicateRequestCache::Checksum(a), DuplicateRequestCache::Checksum(a));
  EXPECT_NE(DuplicateRequestCache::Checksum(a), DuplicateRequestCache::Checksum(b));
  EXPECT_NE(DuplicateRequestCache::Checksum(a), DuplicateRequestCache::Checksum(longer));
  EXPECT_NE(DuplicateRequestCache::Checksum({}), DuplicateRequestCache::Checksum(longer));
}

TEST(DuplicateRequestCacheTest, EvictsTheOldestPastTheCount) {
  FakeClock clock;
  DuplicateRequestCache cache(3, seconds(120), clock.Fn());
  for (uint32_t xid = 1; xid <= 4; ++xid) {
    RunCall(cache, Key(xid));
    clock.now += seconds(1);
  }
  // 1 made room for 4; the others stay.
  EXPECT_EQ(Begin(cache, Key(2)), Verdict::kReplay);
  EXPECT_EQ(Begin(cache, Key(3)), Verdict::kReplay);
  EXPECT_EQ(Begin(cache, Key(4)), Verdict::kReplay);
  EXPECT_EQ(Begin(cache, Key(1)), Verdict::kNew);
  // Which pushed out 2, the oldest then.
  EXPECT_EQ(Begin(cache, Key(3)), Verdict::kReplay);
  EXPECT_EQ(Begin(cache, Key(2)), Verdict::kNew);
}

TEST(DuplicateRequestCacheTest, ZeroEntriesKeepsOne) {
  DuplicateRequestCache cache(0);
  RunCall(cache, Key(1));
  EXPECT_EQ(Begin(cache, Key(1)), Verdict::kReplay);
  RunCall(cache, Key(2));
  EXPECT_EQ(Begin(cache, Key(1)), Verdict::kNew);
}

TEST(DuplicateRequestCacheTest, ForgetsWhatIsOlderThanTheMaximumAge) {
  FakeClock clock;
  DuplicateRequestCache cache(100, seconds(10), clock.Fn());
  RunCall(cache, Key(1));
  clock.now += seconds(5);
  RunCall(cache, Key(2));
  clock.now += seconds(5);
  EXPECT_EQ(Begin(cache, Key(1)), Verdict::kReplay) << "exactly the maximum age is kept";
  clock.now += std::chrono::nanoseconds(1);
  EXPECT_EQ(Begin(cache, Key(1)), Verdict::kNew);
  EXPECT_EQ(Begin(cache, Key(2)), Verdict::kReplay);
  clock.now += seconds(5);
  EXPECT_EQ(Begin(cache, Key(2)), Verdict::kNew);
}

TEST(DuplicateRequestCacheTest, AnInProgressCallAlsoAges) {
  FakeClock clock;
  DuplicateRequestCache cache(100, seconds(10), clock.Fn());
  EXPECT_EQ(Begin(cache, Key(1)), Verdict::kNew);
  clock.now += seconds(11);
  EXPECT_EQ(Begin(cache, Key(1)), Verdict::kNew) << "a call that never finished is not kept";
}

TEST(DuplicateRequestCacheTest, AbandonForgetsTheCall) {
  FakeClock clock;
  DuplicateRequestCache cache(2, seconds(120), clock.Fn());
  EXPECT_EQ(Begin(cache, Key(1)), Verdict::kNew);
  cache.Abandon(Key(1));
  EXPECT_EQ(Begin(cache, Key(1)), Verdict::kNew) << "not in progress any more";
  cache.Abandon(Key(1));
  cache.Abandon(Key(99));          // unknown: nothing happens
  cache.Complete(Key(1), kReply);  // after Abandon: ignored
  EXPECT_EQ(Begin(cache, Key(1)), Verdict::kNew);
  cache.Abandon(Key(1));

  // Abandoned calls take no room.
  RunCall(cache, Key(2));
  RunCall(cache, Key(3));
  EXPECT_EQ(Begin(cache, Key(2)), Verdict::kReplay);
  EXPECT_EQ(Begin(cache, Key(3)), Verdict::kReplay);
}

TEST(DuplicateRequestCacheTest, CompleteAfterEvictionIsHarmless) {
  DuplicateRequestCache cache(1);
  EXPECT_EQ(Begin(cache, Key(1)), Verdict::kNew);
  RunCall(cache, Key(2));  // evicts 1 while it runs
  cache.Complete(Key(1), kReply);
  EXPECT_EQ(Begin(cache, Key(2)), Verdict::kReplay);
  EXPECT_EQ(Begin(cache, Key(1)), Verdict::kNew);
}

TEST(DuplicateRequestCacheTest, ConcurrentCallers) {
  DuplicateRequestCache cache(64);
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, t] {
      for (uint32_t i = 0; i < 2000; ++i) {
        const CallKey key = Key(i, "10.0.0." + std::to_string(t));
        std::vector<uint8_t> reply;
        if (cache.Begin(key, &reply) != Verdict::kNew) continue;
        if (i % 3 == 0) {
          cache.Abandon(key);
        } else {
          cache.Complete(key, std::vector<uint8_t>{static_cast<uint8_t>(t)});
        }
        reply.clear();
        const Verdict again = cache.Begin(key, &reply);
        if (again == Verdict::kReplay) {
          EXPECT_EQ(reply, std::vector<uint8_t>{static_cast<uint8_t>(t)});
        } else if (again == Verdict::kNew) {
          cache.Abandon(key);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
}

}  // namespace
}  // namespace server
