#include "bench/runner.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace bench {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

double Measurement::LatencyUs(double q) const {
  if (latencies_ns.empty()) return 0;
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(latencies_ns.size())));
  return static_cast<double>(latencies_ns[std::clamp<size_t>(rank, 1, latencies_ns.size()) - 1]) /
         1000.0;
}

double Measurement::OpsPerSecond() const {
  return seconds > 0 ? static_cast<double>(ops) / seconds : 0;
}

size_t MedianRound(std::span<const double> rates) {
  std::vector<size_t> by_rate(rates.size());
  for (size_t i = 0; i < by_rate.size(); ++i) by_rate[i] = i;
  std::sort(by_rate.begin(), by_rate.end(),
            [&rates](size_t a, size_t b) { return rates[a] < rates[b]; });
  return by_rate[(by_rate.size() - 1) / 2];
}

Measurement Run(Workload& workload, std::span<Connection* const> connections, int inflight,
                double seconds) {
  Measurement m;
  const auto calls_so_far = [&connections] {
    uint64_t calls = 0;
    for (const Connection* c : connections) calls += c->calls();
    return calls;
  };
  const uint64_t calls_before = calls_so_far();
  const auto start = Clock::now();
  const auto deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<int> outstanding(connections.size(), 0);
  int total_outstanding = 0;
  bool exhausted = false;

  const auto record = [&](size_t conn, Clock::time_point began, const Outcome& outcome) {
    --outstanding[conn];
    --total_outstanding;
    if (!outcome.error.empty()) {
      if (m.errors++ == 0) m.first_error = outcome.error;
      return;
    }
    ++m.ops;
    m.bytes += outcome.bytes;
    m.items += outcome.items;
    m.latencies_ns.push_back(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - began).count());
  };

  while (true) {
    const bool stop = exhausted || m.errors > 0 || (seconds > 0 && Clock::now() >= deadline);
    for (size_t i = 0; !stop && !exhausted && i < connections.size(); ++i) {
      while (outstanding[i] < inflight) {
        const auto began = Clock::now();
        ++outstanding[i];
        ++total_outstanding;
        if (!workload.Start(*connections[i],
                            [&record, i, began](const Outcome& o) { record(i, began, o); })) {
          --outstanding[i];
          --total_outstanding;
          exhausted = true;
          break;
        }
      }
    }
    if (stop && total_outstanding == 0) break;
    if (total_outstanding == 0 && exhausted) break;
    ServiceAll(connections);
  }

  if (m.errors == 0) {
    bool finished = false;
    workload.Finish(*connections.front(), [&](const Outcome& o) {
      finished = true;
      if (!o.error.empty() && m.errors++ == 0) m.first_error = o.error;
    });
    connections.front()->ServiceUntil([&] { return finished; });
  }
  m.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  m.calls = calls_so_far() - calls_before;
  std::sort(m.latencies_ns.begin(), m.latencies_ns.end());
  return m;
}

}  // namespace bench
