// CREATE (RFC 1813 §3.3.8) in its three modes:
//   UNCHECKED  an existing file is kept (only a size in the attributes,
//              the O_TRUNC case, is applied to it);
//   GUARDED    an existing name is EXIST;
//   EXCLUSIVE  the client's verifier is stored in the new file's atime and
//              mtime (as knfsd does), so a retransmission finds the same
//              verifier and succeeds while any other creator gets EXIST.
//              The client then sets the real attributes with SETATTR.
#include <cstring>

#include "server/nfs3_args.h"
#include "server/nfs3_common.h"
#include "server/procedures.h"

namespace server::nfs3 {

namespace {

constexpr uint32_t kDefaultFileMode = 0644;

std::pair<timespec, timespec> VerifierTimes(const std::array<uint8_t, kCreateVerifierSize>& v) {
  uint32_t a = 0;
  uint32_t m = 0;
  std::memcpy(&a, v.data(), 4);
  std::memcpy(&m, v.data() + 4, 4);
  return {timespec{static_cast<time_t>(a), 0}, timespec{static_cast<time_t>(m), 0}};
}

bool HasVerifier(const vaultcore::Entry& entry, const std::array<uint8_t, kCreateVerifierSize>& v) {
  const auto [atime, mtime] = VerifierTimes(v);
  return entry.kind() == vaultcore::NodeKind::kFile && entry.attr.atime.tv_sec == atime.tv_sec &&
         entry.attr.mtime.tv_sec == mtime.tv_sec;
}

// CREATE of a name that exists: what the mode says to do with it.
Stat UseExisting(Request& request, const CreateArgs& args, const vaultcore::Entry& dir,
                 vaultcore::Entry* existing) {
  auto found = request.exp.vault().Lookup(dir.AsDir(), args.where.name);
  if (!found.ok()) return StatFor(found.status());
  *existing = std::move(found).value();
  switch (args.mode) {
    case kGuarded:
      return kErrExist;
    case kExclusive:
      return HasVerifier(*existing, args.verifier) ? kOk : kErrExist;
    case kUnchecked:
      if (existing->kind() != vaultcore::NodeKind::kFile) return kErrExist;
      if (!args.attr.size) return kOk;
      Sattr truncate;
      truncate.size = args.attr.size;
      return ApplySattr(request, *existing, truncate);
  }
  return kErrExist;
}

Stat CreateFile(Request& request, const CreateArgs& args, const vaultcore::Entry& dir,
                vaultcore::Entry* created) {
  vaultcore::Vault& vault = request.exp.vault();
  const uint32_t mode =
      args.mode == kExclusive ? kDefaultFileMode : args.attr.mode.value_or(kDefaultFileMode);
  // Most CREATEs are of new names: try that first, look at what is there
  // only when the name is taken.
  std::shared_ptr<vaultcore::EncryptedFile> file;
  auto made = vault.CreateFile(dir.AsDir(), args.where.name, mode, /*exclusive=*/true, &file);
  if (made.status().code() == vaultcore::Errc::kExists) {
    return UseExisting(request, args, dir, created);
  }
  if (!made.ok()) return StatFor(made.status());
  *created = std::move(made).value();
  request.exp.KeepOpen(std::move(file));
  if (args.mode == kExclusive) {
    const auto [atime, mtime] = VerifierTimes(args.verifier);
    vaultcore::Status s = vault.SetTimes(*created, atime, mtime);
    if (!s.ok()) return StatFor(s);
    return StatFor(vault.Refresh(*created));
  }
  Sattr initial = InitialAttributes(args.attr);
  // The process umask may have narrowed the mode the file was created with.
  if (initial.mode && (*initial.mode & 07777) == created->attr.mode) initial.mode.reset();
  return ApplySattr(request, *created, initial);
}

}  // namespace

rpc::AcceptStat Create(Request& request) {
  CreateArgs args;
  if (!Decode(request.args, &args)) return rpc::AcceptStat::kGarbageArgs;
  vaultcore::Entry dir;
  std::optional<WccAttr> before;
  Stat stat = BeginDirectoryChange(request, args.where, NameUse::kNew, &dir, &before);
  vaultcore::Entry created;
  if (stat == kOk) stat = CreateFile(request, args, dir, &created);
  EncodeStat(request, stat);
  if (stat == kOk) EncodeNewObject(request, created);
  EndDirectoryChange(request, dir, before);
  return rpc::AcceptStat::kSuccess;
}

}  // namespace server::nfs3
