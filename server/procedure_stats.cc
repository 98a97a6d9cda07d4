#include "server/procedure_stats.h"

#include <cstdio>

namespace server {

ProcedureStats::ProcedureStats(std::span<const ProcedureEntry> table)
    : table_(table), counters_(std::make_unique<Counters[]>(table.size())) {}

void ProcedureStats::Record(const ProcedureEntry& procedure, bool failed,
                            std::chrono::nanoseconds handler_time) {
  Counters& counters = counters_[&procedure - table_.data()];
  counters.calls.fetch_add(1, std::memory_order_relaxed);
  if (failed) counters.failed.fetch_add(1, std::memory_order_relaxed);
  counters.nanoseconds.fetch_add(static_cast<uint64_t>(handler_time.count()),
                                 std::memory_order_relaxed);
}

std::vector<ProcedureStats::Row> ProcedureStats::Snapshot() const {
  std::vector<Row> rows;
  for (size_t i = 0; i < table_.size(); ++i) {
    const Counters& counters = counters_[i];
    Row row{table_[i].name, counters.calls.load(std::memory_order_relaxed),
            counters.failed.load(std::memory_order_relaxed),
            std::chrono::nanoseconds(counters.nanoseconds.load(std::memory_order_relaxed))};
    if (row.calls != 0) rows.push_back(row);
  }
  return rows;
}

std::vector<std::string> FormatProcedureStats(std::span<const ProcedureStats::Row> rows,
                                              std::string_view since) {
  uint64_t total = 0;
  for (const auto& row : rows) total += row.calls;
  std::vector<std::string> lines{std::to_string(total) + " calls answered " + std::string(since) +
                                 (rows.empty() ? "" : ", by procedure:")};
  for (const auto& row : rows) {
    const double mean_us =
        static_cast<double>(row.handler_time.count()) / 1000.0 / static_cast<double>(row.calls);
    char line[128];
    std::snprintf(line, sizeof line, "  %-12.*s %10llu calls %10llu failed %10.1f us each",
                  static_cast<int>(row.name.size()), row.name.data(),
                  static_cast<unsigned long long>(row.calls),
                  static_cast<unsigned long long>(row.failed), mean_us);
    lines.emplace_back(line);
  }
  return lines;
}

}  // namespace server
