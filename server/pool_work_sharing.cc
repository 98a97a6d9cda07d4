#include "server/pool_work_sharing.h"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <atomic>
#include <memory>

namespace server {
namespace {

// Shared with the helper tasks, which may outlive the ForEach that made it
// (they start late and find nothing left). `part` is the caller's and is
// called only for a part taken before the caller could return.
struct Job {
  Job(size_t parts, const std::function<void(size_t)>& fn) : count(parts), part(&fn) {}

  // Takes parts and runs them until none is left.
  void RunParts() {
    for (size_t i = next.fetch_add(1, std::memory_order_relaxed); i < count;
         i = next.fetch_add(1, std::memory_order_relaxed)) {
      (*part)(i);
      // acq_rel: the caller's acquire of the final count sees every part's writes.
      if (done.fetch_add(1, std::memory_order_acq_rel) + 1 == count) done.notify_all();
    }
  }

  const size_t count;
  const std::function<void(size_t)>* const part;
  std::atomic<size_t> next{0};
  std::atomic<size_t> done{0};
};

}  // namespace

void PoolWorkSharing::ForEach(size_t count, const std::function<void(size_t)>& part) {
  if (count == 0) return;
  auto job = std::make_shared<Job>(count, part);
  const size_t helpers = std::min<size_t>(helpers_, count - 1);
  for (size_t h = 0; h < helpers; ++h) {
    boost::asio::post(pool_, [job] { job->RunParts(); });
  }
  job->RunParts();
  // Every part is taken; a helper may still be running one.
  for (size_t done = job->done.load(std::memory_order_acquire); done != count;
       done = job->done.load(std::memory_order_acquire)) {
    job->done.wait(done, std::memory_order_acquire);
  }
}

bool PoolWorkSharing::StartIfIdle(const std::function<void()>& task) {
  if (helpers_ == 0 || calls_.load(std::memory_order_relaxed) > 1) return false;
  boost::asio::post(pool_, task);
  return true;
}

}  // namespace server
