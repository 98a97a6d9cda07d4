// The arguments of every NFSv3 procedure (RFC 1813 §3.3), decoded in one
// place so that each procedure file reads as what it does, and so one fuzz
// target can exercise every decoder. Views point into the request buffer.
// Each Decode returns false (GARBAGE_ARGS) when the XDR is malformed or
// short; trailing bytes are ignored, as other servers do.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "rpc/xdr.h"
#include "server/nfs3_xdr.h"

namespace server::nfs3 {

struct HandleArgs {  // GETATTR, READLINK, FSSTAT, FSINFO, PATHCONF
  std::span<const uint8_t> handle;
};

struct SetattrArgs {
  std::span<const uint8_t> handle;
  Sattr attr;
  std::optional<timespec> guard_ctime;  // sattrguard3
};

struct AccessArgs {
  std::span<const uint8_t> handle;
  uint32_t access = 0;
};

struct ReadArgs {
  std::span<const uint8_t> handle;
  uint64_t offset = 0;
  uint32_t count = 0;
};

struct WriteArgs {
  std::span<const uint8_t> handle;
  uint64_t offset = 0;
  uint32_t count = 0;
  StableHow stable = kUnstable;
  std::span<const uint8_t> data;
};

struct CreateArgs {
  DirOpArgs where;
  CreateMode mode = kUnchecked;
  Sattr attr;                                           // UNCHECKED and GUARDED
  std::array<uint8_t, kCreateVerifierSize> verifier{};  // EXCLUSIVE
};

struct MkdirArgs {
  DirOpArgs where;
  Sattr attr;
};

struct SymlinkArgs {
  DirOpArgs where;
  Sattr attr;
  std::string_view target;
};

struct MknodArgs {
  DirOpArgs where;
  uint32_t type = 0;
};

struct RenameArgs {
  DirOpArgs from;
  DirOpArgs to;
};

struct LinkArgs {
  std::span<const uint8_t> handle;
  DirOpArgs link;
};

struct ReaddirArgs {
  std::span<const uint8_t> handle;
  uint64_t cookie = 0;
  uint64_t verifier = 0;
  uint32_t count = 0;     // READDIR: the whole reply
  uint32_t maxcount = 0;  // READDIRPLUS: the whole reply; `count` is dircount, a hint
};

struct CommitArgs {
  std::span<const uint8_t> handle;
  uint64_t offset = 0;
  uint32_t count = 0;
};

bool Decode(rpc::XdrReader& in, HandleArgs* args);
bool Decode(rpc::XdrReader& in, SetattrArgs* args);
bool Decode(rpc::XdrReader& in, DirOpArgs* args);  // LOOKUP, REMOVE, RMDIR
bool Decode(rpc::XdrReader& in, AccessArgs* args);
bool Decode(rpc::XdrReader& in, ReadArgs* args);
bool Decode(rpc::XdrReader& in, WriteArgs* args);
bool Decode(rpc::XdrReader& in, CreateArgs* args);
bool Decode(rpc::XdrReader& in, MkdirArgs* args);
bool Decode(rpc::XdrReader& in, SymlinkArgs* args);
bool Decode(rpc::XdrReader& in, MknodArgs* args);
bool Decode(rpc::XdrReader& in, RenameArgs* args);
bool Decode(rpc::XdrReader& in, LinkArgs* args);
bool DecodeReaddir(rpc::XdrReader& in, ReaddirArgs* args);
bool DecodeReaddirplus(rpc::XdrReader& in, ReaddirArgs* args);
bool Decode(rpc::XdrReader& in, CommitArgs* args);

// Decodes the arguments of `procedure` and discards them: the fuzz target's
// entry point. False for malformed input or an unknown procedure.
bool DecodeAnyArgs(uint32_t procedure, std::span<const uint8_t> bytes);

}  // namespace server::nfs3
