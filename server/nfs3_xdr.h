// NFSv3 (RFC 1813) wire types shared by the procedures: status codes, file
// types, and the XDR forms of handles, attributes (fattr3, post_op_attr,
// wcc_data), settable attributes (sattr3) and directory arguments.
//
// Decoders read from an rpc::XdrReader and hand out views into the request
// buffer; a caller checks reader.ok() once after decoding all arguments.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <span>
#include <string_view>

#include "rpc/xdr.h"
#include "vaultcore/status.h"
#include "vaultcore/vault.h"

namespace server::nfs3 {

inline constexpr uint32_t kProgram = 100003;
inline constexpr uint32_t kVersion = 3;

inline constexpr uint32_t kMaxHandleSize = 64;  // NFS3_FHSIZE
inline constexpr uint32_t kCookieVerifierSize = 8;
inline constexpr uint32_t kWriteVerifierSize = 8;
inline constexpr uint32_t kCreateVerifierSize = 8;
// The longest name and path a request may carry; longer is NAMETOOLONG, not
// garbage, so the decoder accepts up to kMaxWireString.
inline constexpr uint32_t kNameMax = 255;
inline constexpr uint32_t kPathMax = 4096;
inline constexpr uint32_t kMaxWireString = 8192;

enum Procedure : uint32_t {
  kNull = 0,
  kGetattr = 1,
  kSetattr = 2,
  kLookup = 3,
  kAccess = 4,
  kReadlink = 5,
  kRead = 6,
  kWrite = 7,
  kCreate = 8,
  kMkdir = 9,
  kSymlink = 10,
  kMknod = 11,
  kRemove = 12,
  kRmdir = 13,
  kRename = 14,
  kLink = 15,
  kReaddir = 16,
  kReaddirplus = 17,
  kFsstat = 18,
  kFsinfo = 19,
  kPathconf = 20,
  kCommit = 21,
};

enum Stat : uint32_t {
  kOk = 0,
  kErrPerm = 1,
  kErrNoEnt = 2,
  kErrIo = 5,
  kErrAcces = 13,
  kErrExist = 17,
  kErrXdev = 18,
  kErrNotDir = 20,
  kErrIsDir = 21,
  kErrInval = 22,
  kErrFbig = 27,
  kErrNoSpc = 28,
  kErrRofs = 30,
  kErrNameTooLong = 63,
  kErrNotEmpty = 66,
  kErrStale = 70,
  kErrBadHandle = 10001,
  kErrNotSync = 10002,
  kErrBadCookie = 10003,
  kErrNotSupp = 10004,
  kErrTooSmall = 10005,
  kErrServerFault = 10006,
  kErrBadType = 10007,
};

enum FileType : uint32_t { kReg = 1, kDir = 2, kLnk = 5 };

enum StableHow : uint32_t { kUnstable = 0, kDataSync = 1, kFileSync = 2 };

enum CreateMode : uint32_t { kUnchecked = 0, kGuarded = 1, kExclusive = 2 };

// ACCESS3 bits.
enum Access : uint32_t {
  kAccessRead = 0x01,
  kAccessLookup = 0x02,
  kAccessModify = 0x04,
  kAccessExtend = 0x08,
  kAccessDelete = 0x10,
  kAccessExecute = 0x20,
};

// The NFS status for a vaultcore error.
Stat StatFor(const vaultcore::Status& status);

// How attributes are presented: who owns everything, and the file system id.
struct AttrPolicy {
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t fsid = 0;
};

// The attributes a client sees; `size` may differ from attr.size when
// unwritten (buffered) data extends a file.
void EncodeFattr(rpc::XdrWriter& out, const vaultcore::Attributes& attr, const AttrPolicy& policy);
// The same into bytes sized in advance: kFattrSize of them.
constexpr size_t kFattrSize = 84;  // fattr3 on the wire
void EncodeFattr(rpc::XdrCursor& out, const vaultcore::Attributes& attr, const AttrPolicy& policy);
// post_op_attr: absent when `attr` is null.
void EncodePostOpAttr(rpc::XdrWriter& out, const vaultcore::Attributes* attr,
                      const AttrPolicy& policy);

// wcc_attr: what a client needs to tell whether its cache was current.
struct WccAttr {
  uint64_t size = 0;
  timespec mtime{};
  timespec ctime{};
};
WccAttr WccOf(const vaultcore::Attributes& attr);
void EncodeWcc(rpc::XdrWriter& out, const std::optional<WccAttr>& before,
               const vaultcore::Attributes* after, const AttrPolicy& policy);

// A failed reply of `procedure` with status `stat` and no attributes: its
// post_op_attr and wcc_data fields all absent. False for NULL and for
// procedure numbers NFSv3 does not define.
bool EncodeBareFailure(rpc::XdrWriter& out, uint32_t procedure, Stat stat);

// post_op_fh3: absent when `handle` is empty.
void EncodePostOpFh(rpc::XdrWriter& out, std::span<const uint8_t> handle);

std::span<const uint8_t> DecodeHandle(rpc::XdrReader& in);

struct DirOpArgs {
  std::span<const uint8_t> dir;
  std::string_view name;
};
DirOpArgs DecodeDirOpArgs(rpc::XdrReader& in);

enum class TimeHow : uint32_t { kDontChange = 0, kServerTime = 1, kClientTime = 2 };

struct Sattr {
  std::optional<uint32_t> mode;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::optional<uint64_t> size;
  TimeHow atime_how = TimeHow::kDontChange;
  TimeHow mtime_how = TimeHow::kDontChange;
  timespec atime{};
  timespec mtime{};
};
Sattr DecodeSattr(rpc::XdrReader& in);

timespec DecodeTime(rpc::XdrReader& in);
void EncodeTime(rpc::XdrWriter& out, const timespec& t);

}  // namespace server::nfs3
