// Every procedure this server answers, one handler per file (nfs3_<name>.cc,
// mount3.cc), all with the ProcedureHandler signature, and the table that
// maps (program, version, procedure) to them (procedures.cc).
#pragma once

#include <span>

#include "rpc/program_table.h"
#include "server/request.h"

namespace server {

using ProcedureEntry = rpc::Procedure<ProcedureHandler>;

// The table, read top to bottom: MOUNT v3, then NFS v3.
std::span<const ProcedureEntry> ProcedureTable();

namespace nfs3 {
rpc::AcceptStat Null(Request& request);
rpc::AcceptStat Getattr(Request& request);
rpc::AcceptStat Setattr(Request& request);
rpc::AcceptStat Lookup(Request& request);
rpc::AcceptStat Access(Request& request);
rpc::AcceptStat Readlink(Request& request);
rpc::AcceptStat Read(Request& request);
rpc::AcceptStat Write(Request& request);
rpc::AcceptStat Create(Request& request);
rpc::AcceptStat Mkdir(Request& request);
rpc::AcceptStat Symlink(Request& request);
rpc::AcceptStat Mknod(Request& request);
rpc::AcceptStat Remove(Request& request);
rpc::AcceptStat Rmdir(Request& request);
rpc::AcceptStat Rename(Request& request);
rpc::AcceptStat Link(Request& request);
rpc::AcceptStat Readdir(Request& request);
rpc::AcceptStat Readdirplus(Request& request);
rpc::AcceptStat Fsstat(Request& request);
rpc::AcceptStat Fsinfo(Request& request);
rpc::AcceptStat Pathconf(Request& request);
rpc::AcceptStat Commit(Request& request);

// The most memory the reply to a READ with these arguments can take (0 for
// malformed ones): the table's reply_bound for READ.
size_t ReadReplyBound(rpc::XdrReader args);
}  // namespace nfs3

namespace mount3 {
inline constexpr uint32_t kProgram = 100005;
inline constexpr uint32_t kVersion = 3;
rpc::AcceptStat Null(Request& request);
rpc::AcceptStat Mnt(Request& request);
rpc::AcceptStat Dump(Request& request);
rpc::AcceptStat Umnt(Request& request);
rpc::AcceptStat Umntall(Request& request);
rpc::AcceptStat Export(Request& request);
}  // namespace mount3

}  // namespace server
