// WorkSharing::Scope: a thread shares only inside a Scope, the innermost
// one wins, and leaving it restores the one outside.
#include "vaultcore/work_sharing.h"

#include <gtest/gtest.h>

#include <thread>

namespace vaultcore {
namespace {

class InPlace : public WorkSharing {
 public:
  void ForEach(size_t count, const std::function<void(size_t)>& part) override {
    for (size_t i = 0; i < count; ++i) part(i);
  }
};

TEST(WorkSharingTest, ScopesNestAndBelongToTheirThread) {
  InPlace outer;
  InPlace inner;
  EXPECT_EQ(WorkSharing::Current(), nullptr);
  {
    const WorkSharing::Scope a(&outer);
    EXPECT_EQ(WorkSharing::Current(), &outer);
    {
      const WorkSharing::Scope b(&inner);
      EXPECT_EQ(WorkSharing::Current(), &inner);
      WorkSharing* other_thread = &inner;
      std::thread([&] { other_thread = WorkSharing::Current(); }).join();
      EXPECT_EQ(other_thread, nullptr);
    }
    EXPECT_EQ(WorkSharing::Current(), &outer);
  }
  EXPECT_EQ(WorkSharing::Current(), nullptr);
}

}  // namespace
}  // namespace vaultcore
