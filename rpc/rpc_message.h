// ONC RPC version 2 messages (RFC 5531): the call header, AUTH_SYS
// credentials, and the reply headers for every outcome a server reports.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "rpc/xdr.h"

namespace rpc {

inline constexpr uint32_t kRpcVersion = 2;

enum AuthFlavor : uint32_t { kAuthNone = 0, kAuthSys = 1 };

enum class AcceptStat : uint32_t {
  kSuccess = 0,
  kProgUnavail = 1,
  kProgMismatch = 2,
  kProcUnavail = 3,
  kGarbageArgs = 4,
  kSystemErr = 5,
};

enum class AuthStat : uint32_t {
  kOk = 0,
  kBadCred = 1,
  kRejectedCred = 2,
  kBadVerf = 3,
  kRejectedVerf = 4,
  kTooWeak = 5,
};

struct OpaqueAuth {
  uint32_t flavor = kAuthNone;
  std::span<const uint8_t> body;  // view into the record, at most 400 bytes
};

struct CallHeader {
  uint32_t xid = 0;
  uint32_t rpc_version = 0;
  uint32_t program = 0;
  uint32_t version = 0;
  uint32_t procedure = 0;
  OpaqueAuth credential;
  OpaqueAuth verifier;
};

struct AuthSysParams {
  uint32_t stamp = 0;
  std::string_view machine_name;  // view into the record
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::array<uint32_t, 16> gids{};
  uint32_t gid_count = 0;
};

enum class CallDecode {
  kOk,
  kNotACall,     // a reply or garbage: drop it silently
  kRpcMismatch,  // rpcvers != 2: answer MSG_DENIED / RPC_MISMATCH
};

// Decodes the call header; on kOk the reader stands at the arguments.
CallDecode DecodeCallHeader(XdrReader& reader, CallHeader* call);

// Parses an AUTH_SYS credential body; nullopt if malformed.
std::optional<AuthSysParams> DecodeAuthSys(std::span<const uint8_t> body);

// Reply headers. After EncodeAcceptedReply(kSuccess) the caller appends the
// procedure's results; kProgMismatch needs EncodeMismatchInfo next.
void EncodeAcceptedReply(XdrWriter& writer, uint32_t xid, AcceptStat stat);
void EncodeMismatchInfo(XdrWriter& writer, uint32_t low, uint32_t high);
void EncodeRpcMismatchReply(XdrWriter& writer, uint32_t xid);
void EncodeAuthErrorReply(XdrWriter& writer, uint32_t xid, AuthStat stat);

}  // namespace rpc
