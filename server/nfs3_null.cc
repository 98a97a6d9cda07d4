// NULL (RFC 1813 §3.3.0): does nothing; clients use it to ping.
#include "server/procedures.h"

namespace server::nfs3 {

rpc::AcceptStat Null(Request& /*request*/) { return rpc::AcceptStat::kSuccess; }

}  // namespace server::nfs3
