// READLINK (RFC 1813 §3.3.5).
#include "server/nfs3_args.h"
#include "server/nfs3_common.h"
#include "server/procedures.h"

namespace server::nfs3 {

rpc::AcceptStat Readlink(Request& request) {
  HandleArgs args;
  if (!Decode(request.args, &args)) return rpc::AcceptStat::kGarbageArgs;
  vaultcore::Entry entry;
  Stat stat = ResolveHandle(request, args.handle, &entry);
  if (stat == kOk && entry.kind() != vaultcore::NodeKind::kSymlink) stat = kErrInval;
  std::string target;
  if (stat == kOk) {
    auto link = request.exp.vault().ReadLink(entry);
    if (link.ok()) {
      target = std::move(link).value();
    } else {
      stat = StatFor(link.status());
    }
  }
  EncodeStat(request, stat);
  EncodeAttr(request, entry);
  if (stat == kOk) request.reply.String(target);
  return rpc::AcceptStat::kSuccess;
}

}  // namespace server::nfs3
