// FSINFO (RFC 1813 §3.3.19): 1 MiB reads and writes (the Linux client's
// maximum), nanosecond times, symlinks but no hard links.
#include "server/nfs3_args.h"
#include "server/nfs3_common.h"
#include "server/procedures.h"

namespace server::nfs3 {

namespace {
constexpr uint32_t kMaxTransfer = 1 << 20;
constexpr uint32_t kPreferredDirectoryRead = 64 << 10;
constexpr uint32_t kTransferMultiple = 4096;
constexpr uint32_t kFsfSymlink = 0x0002;
constexpr uint32_t kFsfHomogeneous = 0x0008;
constexpr uint32_t kFsfCanSetTime = 0x0010;
}  // namespace

rpc::AcceptStat Fsinfo(Request& request) {
  HandleArgs args;
  if (!Decode(request.args, &args)) return rpc::AcceptStat::kGarbageArgs;
  vaultcore::Entry entry;
  const Stat stat = ResolveHandle(request, args.handle, &entry, Attributes::kMayBeCached);
  EncodeStat(request, stat);
  EncodeAttr(request, entry);
  if (stat != kOk) return rpc::AcceptStat::kSuccess;
  rpc::XdrWriter& out = request.reply;
  out.U32(kMaxTransfer);       // rtmax
  out.U32(kMaxTransfer);       // rtpref
  out.U32(kTransferMultiple);  // rtmult
  out.U32(kMaxTransfer);       // wtmax
  out.U32(kMaxTransfer);       // wtpref
  out.U32(kTransferMultiple);  // wtmult
  out.U32(kPreferredDirectoryRead);
  out.U64(request.exp.options().max_file_size);
  out.U32(0);  // time_delta: 1 ns
  out.U32(1);
  out.U32(kFsfSymlink | kFsfHomogeneous | kFsfCanSetTime);
  return rpc::AcceptStat::kSuccess;
}

}  // namespace server::nfs3
