#include "server/procedures.h"

#include <array>

#include "server/nfs3_xdr.h"

namespace server {
namespace {

using rpc::Dispatch;
constexpr auto kInline = Dispatch::kInline;
constexpr auto kWorker = Dispatch::kWorker;
constexpr auto kDiskWait = Dispatch::kDiskWait;
constexpr uint32_t kMount = mount3::kProgram;
constexpr uint32_t kNfs = nfs3::kProgram;

// program, version, procedure, name, handler, where it runs, non-idempotent,
// and for large replies their bound
constexpr std::array kTable = {
    ProcedureEntry{kMount, 3, 0, "MOUNT NULL", mount3::Null, kInline, false},
    ProcedureEntry{kMount, 3, 1, "MNT", mount3::Mnt, kInline, false},
    ProcedureEntry{kMount, 3, 2, "DUMP", mount3::Dump, kInline, false},
    ProcedureEntry{kMount, 3, 3, "UMNT", mount3::Umnt, kInline, false},
    ProcedureEntry{kMount, 3, 4, "UMNTALL", mount3::Umntall, kInline, false},
    ProcedureEntry{kMount, 3, 5, "EXPORT", mount3::Export, kInline, false},

    ProcedureEntry{kNfs, 3, nfs3::kNull, "NULL", nfs3::Null, kInline, false},
    ProcedureEntry{kNfs, 3, nfs3::kGetattr, "GETATTR", nfs3::Getattr, kInline, false},
    ProcedureEntry{kNfs, 3, nfs3::kSetattr, "SETATTR", nfs3::Setattr, kWorker, true},
    ProcedureEntry{kNfs, 3, nfs3::kLookup, "LOOKUP", nfs3::Lookup, kInline, false},
    ProcedureEntry{kNfs, 3, nfs3::kAccess, "ACCESS", nfs3::Access, kInline, false},
    ProcedureEntry{kNfs, 3, nfs3::kReadlink, "READLINK", nfs3::Readlink, kInline, false},
    ProcedureEntry{kNfs, 3, nfs3::kRead, "READ", nfs3::Read, kWorker, false, nfs3::ReadReplyBound},
    ProcedureEntry{kNfs, 3, nfs3::kWrite, "WRITE", nfs3::Write, kWorker, false},
    ProcedureEntry{kNfs, 3, nfs3::kCreate, "CREATE", nfs3::Create, kWorker, true},
    ProcedureEntry{kNfs, 3, nfs3::kMkdir, "MKDIR", nfs3::Mkdir, kWorker, true},
    ProcedureEntry{kNfs, 3, nfs3::kSymlink, "SYMLINK", nfs3::Symlink, kWorker, true},
    ProcedureEntry{kNfs, 3, nfs3::kMknod, "MKNOD", nfs3::Mknod, kInline, false},
    ProcedureEntry{kNfs, 3, nfs3::kRemove, "REMOVE", nfs3::Remove, kWorker, true},
    ProcedureEntry{kNfs, 3, nfs3::kRmdir, "RMDIR", nfs3::Rmdir, kWorker, true},
    ProcedureEntry{kNfs, 3, nfs3::kRename, "RENAME", nfs3::Rename, kWorker, true},
    ProcedureEntry{kNfs, 3, nfs3::kLink, "LINK", nfs3::Link, kInline, false},
    ProcedureEntry{kNfs, 3, nfs3::kReaddir, "READDIR", nfs3::Readdir, kInline, false},
    ProcedureEntry{kNfs, 3, nfs3::kReaddirplus, "READDIRPLUS", nfs3::Readdirplus, kInline, false},
    ProcedureEntry{kNfs, 3, nfs3::kFsstat, "FSSTAT", nfs3::Fsstat, kInline, false},
    ProcedureEntry{kNfs, 3, nfs3::kFsinfo, "FSINFO", nfs3::Fsinfo, kInline, false},
    ProcedureEntry{kNfs, 3, nfs3::kPathconf, "PATHCONF", nfs3::Pathconf, kInline, false},
    ProcedureEntry{kNfs, 3, nfs3::kCommit, "COMMIT", nfs3::Commit, kDiskWait, false},
};

}  // namespace

std::span<const ProcedureEntry> ProcedureTable() { return kTable; }

}  // namespace server
