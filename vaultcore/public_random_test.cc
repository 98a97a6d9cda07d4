#include "vaultcore/public_random.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace vaultcore {
namespace {

using Nonce = std::array<uint8_t, 12>;

Nonce Draw() {
  Nonce nonce{};
  EXPECT_TRUE(PublicRandomBytes(nonce).ok());
  return nonce;
}

TEST(PublicRandomTest, NoDrawRepeatsAnotherAcrossManyRefills) {
  std::set<Nonce> seen;
  for (int i = 0; i < 100'000; ++i) ASSERT_TRUE(seen.insert(Draw()).second) << "draw " << i;
}

TEST(PublicRandomTest, ThreadsDrawDistinctBytes) {
  std::mutex mutex;
  std::set<Nonce> seen;
  size_t draws = 0;
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      std::vector<Nonce> mine(10'000);
      for (Nonce& nonce : mine) nonce = Draw();
      std::lock_guard lock(mutex);
      seen.insert(mine.begin(), mine.end());
      draws += mine.size();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(seen.size(), draws);
}

TEST(PublicRandomTest, DrawsLargerThanThePoolAndEmptyDrawsWork) {
  std::vector<uint8_t> a(64 * 1024), b(64 * 1024);
  ASSERT_TRUE(PublicRandomBytes(a).ok());
  ASSERT_TRUE(PublicRandomBytes(b).ok());
  EXPECT_NE(a, b);
  EXPECT_NE(a, std::vector<uint8_t>(a.size()));
  EXPECT_TRUE(PublicRandomBytes({}).ok());
}

// Without the fork handler parent and child would both hand out the next
// bytes of the pool they share: a nonce used twice.
TEST(PublicRandomTest, AForkedChildDoesNotRepeatItsParentsBytes) {
  Draw();  // the pool is filled now, and bytes are left in it
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    Nonce nonce{};
    const bool ok = PublicRandomBytes(nonce).ok();
    const bool written = write(fds[1], nonce.data(), nonce.size()) == ssize_t(nonce.size());
    _exit(ok && written ? 0 : 1);
  }
  const Nonce parents = Draw();
  Nonce childs{};
  ASSERT_EQ(read(fds[0], childs.data(), childs.size()), ssize_t(childs.size()));
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(fds[0]);
  close(fds[1]);
  EXPECT_NE(parents, childs);
}

}  // namespace
}  // namespace vaultcore
