// READDIRPLUS (RFC 1813 §3.3.17): names with handles and attributes, the
// attributes as fresh as the attribute cache's; see directory_page.h.
#include "server/directory_page.h"
#include "server/procedures.h"

namespace server::nfs3 {

rpc::AcceptStat Readdirplus(Request& request) {
  ReaddirArgs args;
  if (!DecodeReaddirplus(request.args, &args)) return rpc::AcceptStat::kGarbageArgs;
  EncodeDirectoryPage(request, args, /*plus=*/true);
  return rpc::AcceptStat::kSuccess;
}

}  // namespace server::nfs3
