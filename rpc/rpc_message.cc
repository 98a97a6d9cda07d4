#include "rpc/rpc_message.h"

namespace rpc {
namespace {

constexpr uint32_t kCall = 0;
constexpr uint32_t kReply = 1;
constexpr uint32_t kMsgAccepted = 0;
constexpr uint32_t kMsgDenied = 1;
constexpr uint32_t kRpcMismatch = 0;
constexpr uint32_t kAuthError = 1;
constexpr uint32_t kMaxAuthBody = 400;
constexpr uint32_t kMaxMachineName = 255;

OpaqueAuth DecodeOpaqueAuth(XdrReader& reader) {
  OpaqueAuth auth;
  auth.flavor = reader.U32();
  auth.body = reader.Opaque(kMaxAuthBody);
  return auth;
}

void EncodeReplyStart(XdrWriter& writer, uint32_t xid, uint32_t reply_stat) {
  writer.U32(xid);
  writer.U32(kReply);
  writer.U32(reply_stat);
}

}  // namespace

CallDecode DecodeCallHeader(XdrReader& reader, CallHeader* call) {
  call->xid = reader.U32();
  if (reader.U32() != kCall || !reader.ok()) return CallDecode::kNotACall;
  call->rpc_version = reader.U32();
  if (!reader.ok()) return CallDecode::kNotACall;
  if (call->rpc_version != kRpcVersion) return CallDecode::kRpcMismatch;
  call->program = reader.U32();
  call->version = reader.U32();
  call->procedure = reader.U32();
  call->credential = DecodeOpaqueAuth(reader);
  call->verifier = DecodeOpaqueAuth(reader);
  return reader.ok() ? CallDecode::kOk : CallDecode::kNotACall;
}

std::optional<AuthSysParams> DecodeAuthSys(std::span<const uint8_t> body) {
  XdrReader reader(body);
  AuthSysParams params;
  params.stamp = reader.U32();
  params.machine_name = reader.String(kMaxMachineName);
  params.uid = reader.U32();
  params.gid = reader.U32();
  params.gid_count = reader.U32();
  if (params.gid_count > params.gids.size()) return std::nullopt;
  for (uint32_t i = 0; i < params.gid_count; ++i) params.gids[i] = reader.U32();
  if (!reader.ok() || reader.remaining() != 0) return std::nullopt;
  return params;
}

void EncodeAcceptedReply(XdrWriter& writer, uint32_t xid, AcceptStat stat) {
  EncodeReplyStart(writer, xid, kMsgAccepted);
  writer.U32(kAuthNone);  // verifier: AUTH_NONE, empty body
  writer.U32(0);
  writer.U32(static_cast<uint32_t>(stat));
}

void EncodeMismatchInfo(XdrWriter& writer, uint32_t low, uint32_t high) {
  writer.U32(low);
  writer.U32(high);
}

void EncodeRpcMismatchReply(XdrWriter& writer, uint32_t xid) {
  EncodeReplyStart(writer, xid, kMsgDenied);
  writer.U32(kRpcMismatch);
  EncodeMismatchInfo(writer, kRpcVersion, kRpcVersion);
}

void EncodeAuthErrorReply(XdrWriter& writer, uint32_t xid, AuthStat stat) {
  EncodeReplyStart(writer, xid, kMsgDenied);
  writer.U32(kAuthError);
  writer.U32(static_cast<uint32_t>(stat));
}

}  // namespace rpc
