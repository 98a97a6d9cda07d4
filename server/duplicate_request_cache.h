// The duplicate-request cache (knfsd's and ganesha's "DRC"): a client that
// retransmits a non-idempotent call (its TCP connection broke, or the reply
// was slow) must get the reply of the first execution, not a second
// execution — a second REMOVE would answer NOENT, a second exclusive
// CREATE EXIST. Calls are identified by client address, xid, program,
// version, procedure and a checksum of the arguments (xids alone repeat
// across clients and reboots).
//
// While the first execution is still running, a retransmission is dropped:
// the first reply will answer it. Bounded by entry count (never more than
// `max_entries`; the oldest go first) and age (older than `max_age` is
// forgotten). Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace server {

struct CallKey {
  std::string client;  // address (not port: a reconnect may use another)
  uint32_t xid = 0;
  uint32_t program = 0;
  uint32_t version = 0;
  uint32_t procedure = 0;
  uint64_t args_checksum = 0;

  bool operator==(const CallKey&) const = default;
};

class DuplicateRequestCache {
 public:
  enum class Verdict {
    kNew,         // run it, then call Complete (or Abandon)
    kInProgress,  // the first copy is still running: drop this one
    kReplay,      // send `*reply` again
  };

  using Clock = std::chrono::steady_clock;
  // Where the cache reads the time: a test passes one it moves by hand.
  using Now = std::function<Clock::time_point()>;

  // `max_entries` of 0 is taken as 1.
  explicit DuplicateRequestCache(size_t max_entries = 4096,
                                 Clock::duration max_age = std::chrono::seconds(120),
                                 Now now = nullptr);

  static uint64_t Checksum(std::span<const uint8_t> args);

  Verdict Begin(const CallKey& key, std::vector<uint8_t>* reply);
  // Stores the encoded reply (without record mark) of a call that Begin
  // admitted as kNew.
  void Complete(const CallKey& key, std::span<const uint8_t> reply);
  // Forgets a call that produced no reply.
  void Abandon(const CallKey& key);

 private:
  struct KeyHash {
    size_t operator()(const CallKey& k) const;
  };
  struct Slot {
    bool done = false;
    std::vector<uint8_t> reply;
    Clock::time_point at;
    std::list<CallKey>::iterator age;
  };

  // Forgets what is older than max_age_, then the oldest until at most
  // `keep` remain.
  void EvictLocked(Clock::time_point now, size_t keep);

  const size_t max_entries_;
  const Clock::duration max_age_;
  const Now now_;
  std::mutex mutex_;
  std::unordered_map<CallKey, Slot, KeyHash> slots_;
  std::list<CallKey> by_age_;  // oldest first
};

}  // namespace server
