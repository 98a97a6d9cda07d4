#include "vaultcore/public_random.h"

#include <openssl/rand.h>
#include <pthread.h>

#include <array>
#include <cstring>

namespace vaultcore {
namespace {

constexpr size_t kPoolSize = 4096;

// Bytes [next, kPoolSize) are still unused.
struct Pool {
  std::array<uint8_t, kPoolSize> bytes;
  size_t next = kPoolSize;
};

thread_local Pool pool;

// Runs in the child, on the thread that forked: the only pool it has.
void EmptyPoolInChild() { pool.next = kPoolSize; }

Status Draw(std::span<uint8_t> out) {
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    return Status(Errc::kIo, "RAND_bytes failed");
  }
  return Status::Ok();
}

}  // namespace

Status PublicRandomBytes(std::span<uint8_t> out) {
  if (out.empty()) return Status::Ok();  // memcpy must not see its null pointer
  static const bool fork_handled = pthread_atfork(nullptr, nullptr, EmptyPoolInChild) == 0;
  if (!fork_handled || out.size() > kPoolSize / 8) return Draw(out);
  if (kPoolSize - pool.next < out.size()) {
    Status s = Draw(pool.bytes);
    if (!s.ok()) return s;
    pool.next = 0;
  }
  std::memcpy(out.data(), pool.bytes.data() + pool.next, out.size());
  pool.next += out.size();
  return Status::Ok();
}

}  // namespace vaultcore
