// WorkSharing over the server's worker pool: ForEach posts helper tasks
// to the pool and works through the parts itself; a helper that starts
// while parts are left takes some, one at a time. When every worker is
// busy with calls, the helpers start late, find nothing left and return
// at once, so the caller never waits for a helper to start: only for
// the parts helpers have already taken.
//
// StartIfIdle knows the pool is idle from the calls the connections
// post to the server's pools, which they count with CallPosted and
// CallFinished from the moment a call is posted (so one waiting in a
// queue counts) until it has run.
#pragma once

#include <boost/asio/thread_pool.hpp>

#include <atomic>

#include "vaultcore/work_sharing.h"

namespace server {

class PoolWorkSharing : public vaultcore::WorkSharing {
 public:
  // Posts at most `helpers` tasks per ForEach (the pool's size less one:
  // the caller is usually one of its threads). The pool must outlive
  // every ForEach and every task it posts.
  PoolWorkSharing(boost::asio::thread_pool& pool, unsigned helpers)
      : pool_(pool), helpers_(helpers) {}

  void ForEach(size_t count, const std::function<void(size_t)>& part) override;
  // Posts `task` to the pool if at most one call (the caller's) is posted
  // and not finished, and there is a helper at all.
  bool StartIfIdle(const std::function<void()>& task) override;

  void CallPosted() { calls_.fetch_add(1, std::memory_order_relaxed); }
  void CallFinished() { calls_.fetch_sub(1, std::memory_order_relaxed); }

 private:
  boost::asio::thread_pool& pool_;
  const unsigned helpers_;
  std::atomic<unsigned> calls_{0};
};

}  // namespace server
