#include "bench/runner.h"

#include <vector>

#include <gtest/gtest.h>

namespace bench {
namespace {

TEST(RunnerTest, TheMedianRoundHasTheMiddleRateWhateverTheOrder) {
  const std::vector<double> rates = {300, 100, 200};
  EXPECT_EQ(MedianRound(rates), 2u);
}

TEST(RunnerTest, OfTwoMiddleRoundsTheSlowerStandsForTheCase) {
  const std::vector<double> rates = {40, 10, 30, 20};
  EXPECT_EQ(MedianRound(rates), 3u);
}

TEST(RunnerTest, OneRoundIsItsOwnMedian) {
  const std::vector<double> rates = {5};
  EXPECT_EQ(MedianRound(rates), 0u);
}

TEST(RunnerTest, ARateIsOperationsOverTheRoundsTime) {
  Measurement m;
  m.ops = 10;
  EXPECT_EQ(m.OpsPerSecond(), 0) << "a round that took no time has no rate";
  m.seconds = 4;
  EXPECT_EQ(m.OpsPerSecond(), 2.5);
}

}  // namespace
}  // namespace bench
