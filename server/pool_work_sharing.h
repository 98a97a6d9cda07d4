// WorkSharing over the server's worker pool: ForEach posts helper tasks
// to the pool and works through the parts itself; a helper that starts
// while parts are left takes some, one at a time. When every worker is
// busy with calls, the helpers start late, find nothing left and return
// at once, so the caller never waits for a helper to start: only for
// the parts helpers have already taken.
#pragma once

#include <boost/asio/thread_pool.hpp>

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

 private:
  boost::asio::thread_pool& pool_;
  const unsigned helpers_;
};

}  // namespace server
