// Work sharing: one large operation (the chunks of a 1 MiB READ or WRITE)
// runs its independent parts on helper threads that are idle, as well as
// on its own thread. With one call in flight the second worker would
// otherwise wait while the first decrypts 32 chunks in a row.
//
// A thread opts in with a Scope naming the sharing it may use (the server's
// workers do, around each call); everywhere else Current() is null and
// parts run in place, in order. The sharing must outlive the Scope.
#pragma once

#include <cstddef>
#include <functional>

namespace vaultcore {

class WorkSharing {
 public:
  virtual ~WorkSharing() = default;

  // Calls part(i) exactly once for every i in [0, count), each on the
  // calling thread or on a helper, and returns when all have returned.
  // `part` must allow calls for different i on several threads at once.
  virtual void ForEach(size_t count, const std::function<void(size_t)>& part) = 0;

  // Starts `task` on a helper if the helpers are idle now (nothing but the
  // caller's own call is running or waiting), and says whether it did. For
  // work worth doing only with capacity to spare, such as reading ahead:
  // it never queues behind calls. The default has no helpers.
  virtual bool StartIfIdle(const std::function<void()>& /*task*/) { return false; }

  // The calling thread's sharing: the innermost live Scope's, or null.
  static WorkSharing* Current();

  class Scope {
   public:
    explicit Scope(WorkSharing* sharing);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    WorkSharing* previous_;
  };
};

}  // namespace vaultcore
