#include "server/procedure_stats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

namespace server {
namespace {

using std::chrono::microseconds;

const ProcedureEntry& Entry(std::string_view name) {
  const auto table = ProcedureTable();
  const auto found = std::find_if(table.begin(), table.end(),
                                  [&](const ProcedureEntry& e) { return e.name == name; });
  EXPECT_NE(found, table.end()) << name;
  return *found;
}

TEST(ProcedureStatsTest, CountsCallsFailuresAndTimeInTableOrder) {
  ProcedureStats stats(ProcedureTable());
  EXPECT_TRUE(stats.Snapshot().empty());

  stats.Record(Entry("LOOKUP"), /*failed=*/true, microseconds(30));
  stats.Record(Entry("GETATTR"), false, microseconds(4));
  stats.Record(Entry("LOOKUP"), false, microseconds(10));
  stats.Record(Entry("LOOKUP"), true, microseconds(20));

  const auto rows = stats.Snapshot();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].name, "GETATTR");  // the table's order, not the calls'
  EXPECT_EQ(rows[0].calls, 1u);
  EXPECT_EQ(rows[0].failed, 0u);
  EXPECT_EQ(rows[0].handler_time, microseconds(4));
  EXPECT_EQ(rows[1].name, "LOOKUP");
  EXPECT_EQ(rows[1].calls, 3u);
  EXPECT_EQ(rows[1].failed, 2u);
  EXPECT_EQ(rows[1].handler_time, microseconds(60));
}

TEST(ProcedureStatsTest, NoCallIsLostWhenThreadsRecordAtOnce) {
  ProcedureStats stats(ProcedureTable());
  constexpr int kThreads = 4;
  constexpr int kCallsEach = 10000;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&stats, t] {
      for (int i = 0; i < kCallsEach; ++i) {
        stats.Record(Entry(t % 2 == 0 ? "READ" : "WRITE"), i % 10 == 0, microseconds(1));
      }
    });
  }
  for (auto& thread : threads) thread.join();

  const auto rows = stats.Snapshot();
  ASSERT_EQ(rows.size(), 2u);
  for (const auto& row : rows) {
    EXPECT_EQ(row.calls, 2u * kCallsEach) << row.name;
    EXPECT_EQ(row.failed, 2u * kCallsEach / 10) << row.name;
    EXPECT_EQ(row.handler_time, microseconds(2 * kCallsEach)) << row.name;
  }
}

TEST(ProcedureStatsTest, FormatsAHeadingWithTheTotalAndOneLinePerProcedure) {
  const std::vector<ProcedureStats::Row> rows = {
      {"GETATTR", 1024, 0, microseconds(4096)},
      {"READDIRPLUS", 3, 1, microseconds(1000)},
  };
  const auto lines = FormatProcedureStats(rows, "since the start");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "1027 calls answered since the start, by procedure:");
  EXPECT_EQ(lines[1], "  GETATTR            1024 calls          0 failed        4.0 us each");
  EXPECT_EQ(lines[2], "  READDIRPLUS           3 calls          1 failed      333.3 us each");

  EXPECT_EQ(FormatProcedureStats({}, "so far"),
            std::vector<std::string>{"0 calls answered so far"});
}

}  // namespace
}  // namespace server
