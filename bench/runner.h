// Keeps a workload's operations in flight and measures them. A workload
// starts one operation at a time (an operation may be several chained NFS
// calls, e.g. CREATE + WRITE + COMMIT); the runner starts the next as soon
// as one completes, times each from start to completion, and stops at the
// deadline, at the first error, or when the workload has nothing left.
#ifndef VAULTNFS_BENCH_RUNNER_H_
#define VAULTNFS_BENCH_RUNNER_H_

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "bench/nfs_client.h"

namespace bench {

// What one completed operation did; `error` is empty on success.
struct Outcome {
  std::string error;
  uint64_t bytes = 0;  // payload moved
  uint64_t items = 0;  // e.g. directory entries listed
};
using Done = std::function<void(Outcome)>;

class Workload {
 public:
  virtual ~Workload() = default;
  // Starts one operation on `c` and returns true; it must call `done`
  // exactly once, later, from a reply. Returns false, without calling
  // `done`, when there is nothing more to start.
  virtual bool Start(Connection& c, Done done) = 0;
  // A timed step after the last operation, such as the COMMIT that ends a
  // run of UNSTABLE writes.
  virtual void Finish(Connection&, const Done& done) { done({}); }
};

struct Measurement {
  uint64_t ops = 0;
  uint64_t bytes = 0;
  uint64_t items = 0;
  uint64_t errors = 0;
  uint64_t calls = 0;  // NFS calls sent, the final step's included
  std::string first_error;
  double seconds = 0;
  std::vector<uint64_t> latencies_ns;  // sorted once the run ends

  // Latency at quantile q (0..1) in microseconds.
  double LatencyUs(double q) const;
  // Completed operations per second.
  double OpsPerSecond() const;
};

// Of the same case measured several times (vaultnfs-bench --rounds), given
// each round's rate, the round whose rate is the median: the one that stands
// for the case. With an even count, the slower of the two in the middle.
// `rates` is not empty.
size_t MedianRound(std::span<const double> rates);

// Runs `workload` with `inflight` operations outstanding on each of
// `connections` for `seconds` (0: until the workload runs out).
Measurement Run(Workload& workload, std::span<Connection* const> connections, int inflight,
                double seconds);

}  // namespace bench

#endif  // VAULTNFS_BENCH_RUNNER_H_
