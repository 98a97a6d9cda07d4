// One decoded RPC call as a procedure handler sees it. Everything here is
// borrowed from the connection that received the call and lives until the
// reply is sent: `args` reads from the record buffer (so names and WRITE
// data are views into it), `reply` appends to a buffer in the call's arena.
// Work left in `after_reply` runs once the reply is on its way, on the
// same thread, while the record buffer still lives (not the arena).
#pragma once

#include <cstdint>
#include <functional>
#include <memory_resource>
#include <string_view>

#include "rpc/program_table.h"
#include "rpc/rpc_message.h"
#include "rpc/xdr.h"

namespace server {

class Export;

// Who is calling, from the AUTH_SYS credential (AUTH_NONE: nobody).
struct Caller {
  uint32_t flavor = rpc::kAuthNone;
  uint32_t uid = 65534;
  uint32_t gid = 65534;
  std::string_view address;  // "127.0.0.1", for log lines
};

struct Request {
  Export& exp;
  const rpc::CallHeader& call;
  const Caller& caller;
  rpc::XdrReader& args;
  rpc::XdrWriter& reply;
  std::pmr::memory_resource* arena;
  // Null when the call runs on the I/O thread, which must not do slow work.
  std::function<void()>* after_reply = nullptr;
};

// Every procedure has this signature: decode the arguments from
// request.args (kGarbageArgs if they do not decode, with nothing written),
// or write the complete result body to request.reply and return kSuccess.
using ProcedureHandler = rpc::AcceptStat (*)(Request& request);

}  // namespace server
