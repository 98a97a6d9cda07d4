// ACCESS (RFC 1813 §3.3.4): what the caller may do, from the permission
// bits every file shows its owner. Only the owner, root and explicitly
// allowed uids get this far (the RPC layer refuses the rest), and they all
// see the files as owned by them, so the owner bits decide; root may read
// and write anything and execute what anyone may execute, as on Linux.
#include "server/nfs3_args.h"
#include "server/nfs3_common.h"
#include "server/procedures.h"

namespace server::nfs3 {

namespace {

uint32_t Allowed(const vaultcore::Attributes& attr, bool root, bool read_only) {
  const bool dir = attr.kind == vaultcore::NodeKind::kDirectory;
  const uint32_t bits = attr.mode;
  const bool r = root || (bits & 0400) != 0;
  const bool w = root || (bits & 0200) != 0;
  const bool x = root ? (dir || (bits & 0111) != 0) : (bits & 0100) != 0;
  uint32_t allowed = 0;
  if (r) allowed |= kAccessRead;
  if (w && !read_only) {
    allowed |= kAccessModify | kAccessExtend;
    if (dir) allowed |= kAccessDelete;
  }
  if (x) allowed |= dir ? kAccessLookup : kAccessExecute;
  return allowed;
}

}  // namespace

rpc::AcceptStat Access(Request& request) {
  AccessArgs args;
  if (!Decode(request.args, &args)) return rpc::AcceptStat::kGarbageArgs;
  vaultcore::Entry entry;
  const Stat stat = ResolveHandle(request, args.handle, &entry, Attributes::kMayBeCached);
  EncodeStat(request, stat);
  EncodeAttr(request, entry);
  if (stat != kOk) return rpc::AcceptStat::kSuccess;
  request.reply.U32(args.access &
                    Allowed(entry.attr, request.caller.uid == 0, request.exp.read_only()));
  return rpc::AcceptStat::kSuccess;
}

}  // namespace server::nfs3
