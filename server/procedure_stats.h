// What the server has answered, by procedure: how many calls, how many of
// them failed (an error status such as NFS3ERR_NOENT, or arguments that did
// not decode) and how long their handlers ran. An operator reads it in the
// log (on SIGUSR1 and when the server stops) to see where a workload's calls
// go, the way knfsd's /proc/net/rpc/nfsd is read; the numbers cost two
// clock reads and three relaxed atomic adds per call. Calls refused before
// their procedure ran (security policy, unknown procedure) and
// retransmissions answered from the duplicate-request cache are not counted.
//
// Thread-safe: the I/O thread and the workers record at once. The table
// given to the constructor must outlive the object, and Record takes only
// entries of that table.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "server/procedures.h"

namespace server {

class ProcedureStats {
 public:
  explicit ProcedureStats(std::span<const ProcedureEntry> table);

  void Record(const ProcedureEntry& procedure, bool failed, std::chrono::nanoseconds handler_time);

  struct Row {
    std::string_view name;
    uint64_t calls = 0;
    uint64_t failed = 0;
    std::chrono::nanoseconds handler_time{0};  // summed over the calls
  };
  // The procedures called at least once, in table order. Counters are read
  // one by one while calls go on, so a row may be a call ahead of another.
  std::vector<Row> Snapshot() const;

 private:
  // One cache line each: the I/O thread and the workers record different
  // procedures at once.
  struct alignas(64) Counters {
    std::atomic<uint64_t> calls{0};
    std::atomic<uint64_t> failed{0};
    std::atomic<uint64_t> nanoseconds{0};
  };

  std::span<const ProcedureEntry> table_;
  std::unique_ptr<Counters[]> counters_;
};

// The log's report of `rows`: a heading that says `since` (e.g. "since the
// start") and the total, then one aligned line per procedure, e.g.
//   "  LOOKUP             1050 calls       1000 failed        9.2 us each"
std::vector<std::string> FormatProcedureStats(std::span<const ProcedureStats::Row> rows,
                                              std::string_view since);

}  // namespace server
