// Fuzzes the call-header and AUTH_SYS decoders with whole records, and
// encodes every reply the server could send to what decodes.
//
// Checked: the views a decoder hands out lie inside the input and respect
// the protocol limits; what decodes re-encodes to something that decodes to
// the same values (padding bytes aside, the same bytes); the reply headers
// have their fixed sizes and carry the xid.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory_resource>
#include <span>

#include "rpc/rpc_message.h"
#include "rpc/xdr.h"

namespace {

#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (false)

bool Inside(std::span<const uint8_t> view, std::span<const uint8_t> buffer) {
  // Compared as addresses: an empty view may point anywhere (or nowhere).
  const auto begin = reinterpret_cast<uintptr_t>(buffer.data());
  const auto at = reinterpret_cast<uintptr_t>(view.data());
  return view.empty() || (at >= begin && at + view.size() <= begin + buffer.size());
}

bool Same(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

uint32_t XidOf(std::span<const uint8_t> reply) {
  rpc::XdrReader reader(reply);
  return reader.U32();
}

void CheckAuthSys(std::span<const uint8_t> body) {
  const auto params = rpc::DecodeAuthSys(body);
  if (!params) return;
  CHECK(params->gid_count <= params->gids.size());
  CHECK(params->machine_name.size() <= 255);
  CHECK(Inside(
      {reinterpret_cast<const uint8_t*>(params->machine_name.data()), params->machine_name.size()},
      body));

  std::pmr::vector<uint8_t> encoded;
  rpc::XdrWriter writer(encoded);
  writer.U32(params->stamp);
  writer.String(params->machine_name);
  writer.U32(params->uid);
  writer.U32(params->gid);
  writer.U32(params->gid_count);
  for (uint32_t i = 0; i < params->gid_count; ++i) writer.U32(params->gids[i]);
  CHECK(encoded.size() == body.size());  // the decoder admits no trailing bytes

  const auto again = rpc::DecodeAuthSys(encoded);
  CHECK(again.has_value());
  CHECK(again->stamp == params->stamp);
  CHECK(again->machine_name == params->machine_name);
  CHECK(again->uid == params->uid);
  CHECK(again->gid == params->gid);
  CHECK(again->gid_count == params->gid_count);
  CHECK(again->gids == params->gids);
}

void CheckCall(const rpc::CallHeader& call, rpc::XdrReader& reader, std::span<const uint8_t> data) {
  CHECK(call.rpc_version == rpc::kRpcVersion);
  CHECK(call.credential.body.size() <= 400 && call.verifier.body.size() <= 400);
  CHECK(Inside(call.credential.body, data) && Inside(call.verifier.body, data));
  CHECK(reader.position() <= data.size());
  CHECK(reader.remaining() == data.size() - reader.position());
  if (call.credential.flavor == rpc::kAuthSys) CheckAuthSys(call.credential.body);

  // The header re-encoded, followed by the same arguments, decodes alike.
  std::pmr::vector<uint8_t> encoded;
  rpc::XdrWriter writer(encoded);
  writer.U32(call.xid);
  writer.U32(0);  // CALL
  writer.U32(call.rpc_version);
  writer.U32(call.program);
  writer.U32(call.version);
  writer.U32(call.procedure);
  writer.U32(call.credential.flavor);
  writer.Opaque(call.credential.body);
  writer.U32(call.verifier.flavor);
  writer.Opaque(call.verifier.body);
  CHECK(encoded.size() == reader.position());
  const auto arguments = data.subspan(reader.position());
  encoded.insert(encoded.end(), arguments.begin(), arguments.end());

  rpc::XdrReader again_reader(encoded);
  rpc::CallHeader again;
  CHECK(rpc::DecodeCallHeader(again_reader, &again) == rpc::CallDecode::kOk);
  CHECK(again.xid == call.xid && again.program == call.program);
  CHECK(again.version == call.version && again.procedure == call.procedure);
  CHECK(again.credential.flavor == call.credential.flavor);
  CHECK(again.verifier.flavor == call.verifier.flavor);
  CHECK(Same(again.credential.body, call.credential.body));
  CHECK(Same(again.verifier.body, call.verifier.body));
  CHECK(again_reader.position() == reader.position());
}

void CheckReplies(uint32_t xid) {
  using rpc::AcceptStat;
  for (auto stat : {AcceptStat::kSuccess, AcceptStat::kProgUnavail, AcceptStat::kProgMismatch,
                    AcceptStat::kProcUnavail, AcceptStat::kGarbageArgs, AcceptStat::kSystemErr}) {
    std::pmr::vector<uint8_t> reply;
    rpc::XdrWriter writer(reply);
    rpc::EncodeAcceptedReply(writer, xid, stat);
    CHECK(reply.size() == 24);
    if (stat == AcceptStat::kProgMismatch) {
      rpc::EncodeMismatchInfo(writer, 3, 3);
      CHECK(reply.size() == 32);
    }
    CHECK(XidOf(reply) == xid);
  }
  for (auto stat :
       {rpc::AuthStat::kBadCred, rpc::AuthStat::kRejectedCred, rpc::AuthStat::kTooWeak}) {
    std::pmr::vector<uint8_t> reply;
    rpc::XdrWriter writer(reply);
    rpc::EncodeAuthErrorReply(writer, xid, stat);
    CHECK(reply.size() == 20);
    CHECK(XidOf(reply) == xid);
  }
  std::pmr::vector<uint8_t> reply;
  rpc::XdrWriter writer(reply);
  rpc::EncodeRpcMismatchReply(writer, xid);
  CHECK(reply.size() == 24);
  CHECK(XidOf(reply) == xid);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  // Credential bodies are also fuzzed on their own: most random calls never
  // get far enough to carry one.
  CheckAuthSys(input);

  rpc::XdrReader reader(input);
  rpc::CallHeader call;
  switch (rpc::DecodeCallHeader(reader, &call)) {
    case rpc::CallDecode::kOk:
      CheckCall(call, reader, input);
      CheckReplies(call.xid);
      break;
    case rpc::CallDecode::kRpcMismatch:
      CHECK(call.rpc_version != rpc::kRpcVersion);
      CheckReplies(call.xid);
      break;
    case rpc::CallDecode::kNotACall:
      break;
  }
  return 0;
}
