// The asynchronous NFS operations the workloads are made of. Each starts
// its first call on `c` and calls `done` exactly once, from a reply, with
// an error message (procedure, what, NFS status or "data mismatch") or the
// bytes it moved. Handles, names and the Pattern must outlive the
// operation.
#ifndef VAULTNFS_BENCH_OPERATIONS_H_
#define VAULTNFS_BENCH_OPERATIONS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "bench/nfs_client.h"
#include "bench/pattern.h"
#include "bench/runner.h"

namespace bench {

// The NULL procedure: a round trip in which the server does no work.
void Null(Connection& c, Done done);
void GetAttr(Connection& c, const Handle& object, Done done);
void LookupName(Connection& c, const Handle& dir, const std::string& name, Done done);

// READ of [offset, offset + count) of file `seed`, checked against the
// pattern; a short read is an error (every read asked for is inside the file).
void ReadChecked(Connection& c, const Handle& file, uint64_t seed, uint64_t offset, uint32_t count,
                 const Pattern& pattern, Done done);

// WRITE of the pattern of file `seed` at offset (count ≤ 1 MiB, within one
// 1 MiB block).
void WritePattern(Connection& c, const Handle& file, uint64_t seed, uint64_t offset, uint32_t count,
                  stable_how stable, const Pattern& pattern, Done done);

void Commit(Connection& c, const Handle& file, Done done);

// CREATE (UNCHECKED, 0644), then, when size > 0, WRITEs of the pattern and
// a COMMIT. `created` receives the handle before `done` runs.
void CreateWithContent(Connection& c, const Handle& dir, const std::string& name, uint64_t seed,
                       uint64_t size, const Pattern& pattern, std::function<void(Handle)> created,
                       Done done);

void RemoveName(Connection& c, const Handle& dir, const std::string& name, Done done);

// The whole directory by READDIRPLUS pages (dircount 8 KiB, maxcount
// 64 KiB); items = entries other than "." and "..". When
// expected_entries is set, another count is an error.
void ListDirectory(Connection& c, const Handle& dir, std::optional<uint64_t> expected_entries,
                   Done done);

}  // namespace bench

#endif  // VAULTNFS_BENCH_OPERATIONS_H_
