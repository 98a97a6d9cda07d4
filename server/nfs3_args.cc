#include "server/nfs3_args.h"

namespace server::nfs3 {

bool Decode(rpc::XdrReader& in, HandleArgs* args) {
  args->handle = DecodeHandle(in);
  return in.ok();
}

bool Decode(rpc::XdrReader& in, SetattrArgs* args) {
  args->handle = DecodeHandle(in);
  args->attr = DecodeSattr(in);
  if (in.Bool()) args->guard_ctime = DecodeTime(in);
  return in.ok();
}

bool Decode(rpc::XdrReader& in, DirOpArgs* args) {
  *args = DecodeDirOpArgs(in);
  return in.ok();
}

bool Decode(rpc::XdrReader& in, AccessArgs* args) {
  args->handle = DecodeHandle(in);
  args->access = in.U32();
  return in.ok();
}

bool Decode(rpc::XdrReader& in, ReadArgs* args) {
  args->handle = DecodeHandle(in);
  args->offset = in.U64();
  args->count = in.U32();
  return in.ok();
}

bool Decode(rpc::XdrReader& in, WriteArgs* args) {
  args->handle = DecodeHandle(in);
  args->offset = in.U64();
  args->count = in.U32();
  const uint32_t stable = in.U32();
  if (stable > kFileSync) in.Fail();
  args->stable = static_cast<StableHow>(stable);
  args->data = in.Opaque(UINT32_MAX);
  // RFC 1813: count is the number of bytes of data; a mismatch is garbage.
  if (in.ok() && args->data.size() != args->count) in.Fail();
  return in.ok();
}

bool Decode(rpc::XdrReader& in, CreateArgs* args) {
  args->where = DecodeDirOpArgs(in);
  const uint32_t mode = in.U32();
  if (mode > kExclusive) in.Fail();
  args->mode = static_cast<CreateMode>(mode);
  if (args->mode == kExclusive) {
    auto verifier = in.FixedOpaque(kCreateVerifierSize);
    if (verifier.size() == args->verifier.size()) {
      std::copy(verifier.begin(), verifier.end(), args->verifier.begin());
    }
  } else {
    args->attr = DecodeSattr(in);
  }
  return in.ok();
}

bool Decode(rpc::XdrReader& in, MkdirArgs* args) {
  args->where = DecodeDirOpArgs(in);
  args->attr = DecodeSattr(in);
  return in.ok();
}

bool Decode(rpc::XdrReader& in, SymlinkArgs* args) {
  args->where = DecodeDirOpArgs(in);
  args->attr = DecodeSattr(in);
  args->target = in.String(kMaxWireString);
  return in.ok();
}

bool Decode(rpc::XdrReader& in, MknodArgs* args) {
  // Only the type matters: every type is refused, so the device or socket
  // attributes that follow are not read.
  args->where = DecodeDirOpArgs(in);
  args->type = in.U32();
  return in.ok();
}

bool Decode(rpc::XdrReader& in, RenameArgs* args) {
  args->from = DecodeDirOpArgs(in);
  args->to = DecodeDirOpArgs(in);
  return in.ok();
}

bool Decode(rpc::XdrReader& in, LinkArgs* args) {
  args->handle = DecodeHandle(in);
  args->link = DecodeDirOpArgs(in);
  return in.ok();
}

bool DecodeReaddir(rpc::XdrReader& in, ReaddirArgs* args) {
  args->handle = DecodeHandle(in);
  args->cookie = in.U64();
  args->verifier = in.U64();
  args->count = in.U32();
  args->maxcount = args->count;
  return in.ok();
}

bool DecodeReaddirplus(rpc::XdrReader& in, ReaddirArgs* args) {
  args->handle = DecodeHandle(in);
  args->cookie = in.U64();
  args->verifier = in.U64();
  args->count = in.U32();
  args->maxcount = in.U32();
  return in.ok();
}

bool Decode(rpc::XdrReader& in, CommitArgs* args) {
  args->handle = DecodeHandle(in);
  args->offset = in.U64();
  args->count = in.U32();
  return in.ok();
}

namespace {

template <typename Args>
bool DecodeAs(rpc::XdrReader& in) {
  Args args;
  return Decode(in, &args);
}

}  // namespace

bool DecodeAnyArgs(uint32_t procedure, std::span<const uint8_t> bytes) {
  rpc::XdrReader in(bytes);
  ReaddirArgs readdir;
  switch (procedure) {
    case kNull:
      return true;
    case kGetattr:
    case kReadlink:
    case kFsstat:
    case kFsinfo:
    case kPathconf:
      return DecodeAs<HandleArgs>(in);
    case kSetattr:
      return DecodeAs<SetattrArgs>(in);
    case kLookup:
    case kRemove:
    case kRmdir:
      return DecodeAs<DirOpArgs>(in);
    case kAccess:
      return DecodeAs<AccessArgs>(in);
    case kRead:
      return DecodeAs<ReadArgs>(in);
    case kWrite:
      return DecodeAs<WriteArgs>(in);
    case kCreate:
      return DecodeAs<CreateArgs>(in);
    case kMkdir:
      return DecodeAs<MkdirArgs>(in);
    case kSymlink:
      return DecodeAs<SymlinkArgs>(in);
    case kMknod:
      return DecodeAs<MknodArgs>(in);
    case kRename:
      return DecodeAs<RenameArgs>(in);
    case kLink:
      return DecodeAs<LinkArgs>(in);
    case kReaddir:
      return DecodeReaddir(in, &readdir);
    case kReaddirplus:
      return DecodeReaddirplus(in, &readdir);
    case kCommit:
      return DecodeAs<CommitArgs>(in);
    default:
      return false;
  }
}

}  // namespace server::nfs3
