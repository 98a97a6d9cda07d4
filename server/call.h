// One RPC call from the moment its record arrives until its reply is sent:
// the record's bytes, an arena for everything decoding and answering it
// allocates, and the reply. A Call is owned by the connection that read
// it; a worker that runs it borrows it until it posts the call back.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory_resource>
#include <vector>

#include "rpc/record.h"
#include "rpc/rpc_message.h"
#include "server/duplicate_request_cache.h"
#include "server/procedures.h"
#include "server/request.h"

namespace server {

struct Call {
  // `upstream` gives the arena what outgrows `initial`; it must outlive the call.
  Call(rpc::RecordBytes record_bytes, std::pmr::memory_resource* upstream)
      : record(std::move(record_bytes)),
        arena(initial.data(), initial.size(), upstream),
        reply(&arena) {}
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  rpc::RecordBytes record;
  // Most replies fit here, so answering them allocates nothing; a READ
  // reply of 1 MiB spills to the upstream resource. Left uninitialised on
  // purpose: it is scratch memory for the arena.
  alignas(std::max_align_t) std::array<std::byte, 4096> initial;  // NOLINT(*-member-init)
  std::pmr::monotonic_buffer_resource arena;
  std::pmr::vector<uint8_t> reply;
  std::array<uint8_t, 4> record_mark{};

  rpc::CallHeader header;
  Caller caller;
  const ProcedureEntry* procedure = nullptr;
  size_t args_offset = 0;          // where the arguments start in `record`
  std::optional<CallKey> drc_key;  // set when the call went through the DRC
  // What the reply may take, counted from the start (the procedure's
  // reply_bound; 0 for small replies).
  size_t reply_bound = 0;
  size_t charged_bytes = 0;  // counted against the server's bound on calls in flight
  // Work the procedure left for after its reply (Request::after_reply).
  std::function<void()> after_reply;
};

}  // namespace server
