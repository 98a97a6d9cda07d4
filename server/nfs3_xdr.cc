#include "server/nfs3_xdr.h"

#include <array>

namespace server::nfs3 {

using vaultcore::Errc;

Stat StatFor(const vaultcore::Status& status) {
  switch (status.code()) {
    case Errc::kOk:
      return kOk;
    case Errc::kNotFound:
      return kErrNoEnt;
    case Errc::kExists:
      return kErrExist;
    case Errc::kNotDirectory:
      return kErrNotDir;
    case Errc::kIsDirectory:
      return kErrIsDir;
    case Errc::kNotEmpty:
      return kErrNotEmpty;
    case Errc::kNameTooLong:
      return kErrNameTooLong;
    case Errc::kInvalidArgument:
      return kErrInval;
    case Errc::kPermission:
      return kErrAcces;
    case Errc::kReadOnly:
      return kErrRofs;
    case Errc::kNoSpace:
      return kErrNoSpc;
    case Errc::kFileTooBig:
      return kErrFbig;
    case Errc::kUnsupported:
      return kErrNotSupp;
    case Errc::kCorrupt:
    case Errc::kWrongPassword:
    case Errc::kNotAVault:
    case Errc::kIo:
      return kErrIo;
  }
  return kErrIo;
}

void EncodeTime(rpc::XdrWriter& out, const timespec& t) {
  out.U32(static_cast<uint32_t>(t.tv_sec));
  out.U32(static_cast<uint32_t>(t.tv_nsec));
}

timespec DecodeTime(rpc::XdrReader& in) {
  timespec t{};
  t.tv_sec = static_cast<time_t>(in.U32());
  const uint32_t nsec = in.U32();
  if (nsec >= 1000000000u) in.Fail();
  t.tv_nsec = nsec;
  return t;
}

namespace {

FileType TypeOf(vaultcore::NodeKind kind) {
  switch (kind) {
    case vaultcore::NodeKind::kDirectory:
      return kDir;
    case vaultcore::NodeKind::kSymlink:
      return kLnk;
    case vaultcore::NodeKind::kFile:
      break;
  }
  return kReg;
}

}  // namespace

void EncodeFattr(rpc::XdrWriter& out, const vaultcore::Attributes& attr, const AttrPolicy& policy) {
  rpc::XdrCursor cursor(out.Append(kFattrSize));
  EncodeFattr(cursor, attr, policy);
}

void EncodeFattr(rpc::XdrCursor& out, const vaultcore::Attributes& attr, const AttrPolicy& policy) {
  auto time = [&](const timespec& t) {
    out.U32(static_cast<uint32_t>(t.tv_sec));
    out.U32(static_cast<uint32_t>(t.tv_nsec));
  };
  out.U32(TypeOf(attr.kind));
  out.U32(attr.mode & 07777);
  out.U32(attr.nlink);
  out.U32(policy.uid);
  out.U32(policy.gid);
  out.U64(attr.size);
  out.U64(attr.disk_usage);
  out.U32(0);  // rdev: no device nodes in a vault
  out.U32(0);
  out.U64(policy.fsid);
  out.U64(attr.fileid);
  time(attr.atime);
  time(attr.mtime);
  time(attr.ctime);
}

void EncodePostOpAttr(rpc::XdrWriter& out, const vaultcore::Attributes* attr,
                      const AttrPolicy& policy) {
  out.Bool(attr != nullptr);
  if (attr != nullptr) EncodeFattr(out, *attr, policy);
}

WccAttr WccOf(const vaultcore::Attributes& attr) { return {attr.size, attr.mtime, attr.ctime}; }

void EncodeWcc(rpc::XdrWriter& out, const std::optional<WccAttr>& before,
               const vaultcore::Attributes* after, const AttrPolicy& policy) {
  out.Bool(before.has_value());
  if (before) {
    out.U64(before->size);
    EncodeTime(out, before->mtime);
    EncodeTime(out, before->ctime);
  }
  EncodePostOpAttr(out, after, policy);
}

bool EncodeBareFailure(rpc::XdrWriter& out, uint32_t procedure, Stat stat) {
  // Per procedure, the "attributes follow" flags of its resfail arm: one
  // per post_op_attr, two per wcc_data (RFC 1813 §3.3).
  constexpr std::array<uint8_t, kCommit + 1> kAbsentFlags = {
      0,  // NULL has no failure
      0,  // GETATTR
      2,  // SETATTR: wcc_data
      1,  // LOOKUP: directory attributes
      1,  // ACCESS
      1,  // READLINK
      1,  // READ
      2,  // WRITE: wcc_data
      2,  // CREATE: directory wcc_data
      2,  // MKDIR
      2,  // SYMLINK
      2,  // MKNOD
      2,  // REMOVE
      2,  // RMDIR
      4,  // RENAME: two wcc_data
      3,  // LINK: file attributes, directory wcc_data
      1,  // READDIR
      1,  // READDIRPLUS
      1,  // FSSTAT
      1,  // FSINFO
      1,  // PATHCONF
      2,  // COMMIT: wcc_data
  };
  if (procedure == kNull || procedure >= kAbsentFlags.size()) return false;
  out.U32(stat);
  for (uint8_t i = 0; i < kAbsentFlags[procedure]; ++i) out.Bool(false);
  return true;
}

void EncodePostOpFh(rpc::XdrWriter& out, std::span<const uint8_t> handle) {
  out.Bool(!handle.empty());
  if (!handle.empty()) out.Opaque(handle);
}

std::span<const uint8_t> DecodeHandle(rpc::XdrReader& in) { return in.Opaque(kMaxHandleSize); }

DirOpArgs DecodeDirOpArgs(rpc::XdrReader& in) {
  DirOpArgs args;
  args.dir = DecodeHandle(in);
  args.name = in.String(kMaxWireString);
  return args;
}

namespace {

TimeHow DecodeSetTime(rpc::XdrReader& in, timespec* time) {
  const uint32_t how = in.U32();
  if (how > static_cast<uint32_t>(TimeHow::kClientTime)) {
    in.Fail();
    return TimeHow::kDontChange;
  }
  if (how == static_cast<uint32_t>(TimeHow::kClientTime)) *time = DecodeTime(in);
  return static_cast<TimeHow>(how);
}

}  // namespace

Sattr DecodeSattr(rpc::XdrReader& in) {
  Sattr s;
  if (in.Bool()) s.mode = in.U32();
  if (in.Bool()) s.uid = in.U32();
  if (in.Bool()) s.gid = in.U32();
  if (in.Bool()) s.size = in.U64();
  s.atime_how = DecodeSetTime(in, &s.atime);
  s.mtime_how = DecodeSetTime(in, &s.mtime);
  return s;
}

}  // namespace server::nfs3
