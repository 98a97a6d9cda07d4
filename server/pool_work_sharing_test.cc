// PoolWorkSharing: every part runs once, idle pool threads take parts,
// the caller waits for the parts helpers took, a busy pool leaves
// everything to the caller without making it wait, and background work
// starts only on an idle pool.
#include "server/pool_work_sharing.h"

#include <gtest/gtest.h>
#include <boost/asio/post.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace server {
namespace {

using std::chrono::seconds;

TEST(PoolWorkSharingTest, EveryPartRunsExactlyOnce) {
  boost::asio::thread_pool pool(2);
  PoolWorkSharing sharing(pool, 2);
  for (size_t count : {size_t{0}, size_t{1}, size_t{2}, size_t{1000}}) {
    std::vector<std::atomic<int>> runs(count);
    sharing.ForEach(count, [&](size_t i) { runs[i].fetch_add(1); });
    for (size_t i = 0; i < count; ++i)
      EXPECT_EQ(runs[i].load(), 1) << "part " << i << " of " << count;
  }
  pool.join();
}

TEST(PoolWorkSharingTest, AnIdleThreadTakesPartsAndTheCallerWaitsForThem) {
  boost::asio::thread_pool pool(1);
  PoolWorkSharing sharing(pool, 1);
  const auto caller = std::this_thread::get_id();
  std::mutex mutex;
  std::set<std::thread::id> threads;
  std::atomic<bool> helped{false};
  std::vector<std::atomic<bool>> finished(8);
  sharing.ForEach(finished.size(), [&](size_t i) {
    const auto self = std::this_thread::get_id();
    {
      std::lock_guard lock(mutex);
      threads.insert(self);
    }
    if (self != caller) {
      helped = true;
      // Slow, so that the caller runs out of parts first and has to wait.
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } else {
      // The caller holds its first part until the helper has taken one.
      const auto deadline = std::chrono::steady_clock::now() + seconds(10);
      while (!helped && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    }
    finished[i] = true;
  });
  EXPECT_EQ(threads.size(), 2u);
  for (size_t i = 0; i < finished.size(); ++i) EXPECT_TRUE(finished[i]) << "part " << i;
  pool.join();
}

TEST(PoolWorkSharingTest, ABusyPoolLeavesEveryPartToTheCaller) {
  boost::asio::thread_pool pool(1);
  PoolWorkSharing sharing(pool, 1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  boost::asio::post(pool, [released] { released.wait(); });
  const auto caller = std::this_thread::get_id();
  std::atomic<int> elsewhere{0};
  std::atomic<int> runs{0};
  sharing.ForEach(16, [&](size_t) {
    if (std::this_thread::get_id() != caller) ++elsewhere;
    ++runs;
  });
  EXPECT_EQ(runs.load(), 16);
  EXPECT_EQ(elsewhere.load(), 0);
  release.set_value();
  pool.join();  // the late helper finds nothing left
  EXPECT_EQ(runs.load(), 16);
}

// StartIfIdle counts the calls posted and not finished: the caller's own
// leaves the pool idle, a second one does not, and a pool of one thread
// (no helper besides the caller) never takes background work.
TEST(PoolWorkSharingTest, StartsBackgroundWorkOnlyWhileNoOtherCallIsPosted) {
  boost::asio::thread_pool pool(2);
  PoolWorkSharing sharing(pool, 1);
  std::promise<void> ran;
  EXPECT_TRUE(sharing.StartIfIdle([&] { ran.set_value(); }));  // no call at all
  EXPECT_EQ(ran.get_future().wait_for(seconds(10)), std::future_status::ready);

  sharing.CallPosted();  // the caller's
  std::atomic<int> runs{0};
  EXPECT_TRUE(sharing.StartIfIdle([&] { ++runs; }));
  sharing.CallPosted();  // another, waiting or running
  EXPECT_FALSE(sharing.StartIfIdle([&] { ++runs; }));
  sharing.CallFinished();
  EXPECT_TRUE(sharing.StartIfIdle([&] { ++runs; }));
  sharing.CallFinished();
  pool.join();
  EXPECT_EQ(runs.load(), 2);

  boost::asio::thread_pool single(1);
  PoolWorkSharing alone(single, 0);
  EXPECT_FALSE(alone.StartIfIdle([] {}));
  single.join();
}

}  // namespace
}  // namespace server
