// Fuzzes the NFSv3 argument decoders (server/nfs3_args.h) with arbitrary
// bytes.
//
// Input: byte 0 picks the procedure (modulo 22, so every input reaches a
// decoder); the rest are the call's arguments.
//
// Checked: DecodeAnyArgs agrees with the procedure's own decoder; what
// decodes hands out views that lie inside the input and respect the
// protocol limits (handles of at most 64 bytes, WRITE data of exactly
// `count` bytes, enums in range); and re-encoded by an independent RFC 1813
// encoder it is exactly as long as what the decoder consumed and decodes to
// the same values.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory_resource>
#include <span>
#include <string_view>

#include "rpc/xdr.h"
#include "server/nfs3_args.h"
#include "server/nfs3_xdr.h"

namespace {

namespace nfs3 = server::nfs3;

#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (false)

constexpr uint32_t kProcedures = 22;

bool Inside(std::span<const uint8_t> view, std::span<const uint8_t> buffer) {
  // Compared as addresses: an empty view may point anywhere (or nowhere).
  const auto begin = reinterpret_cast<uintptr_t>(buffer.data());
  const auto at = reinterpret_cast<uintptr_t>(view.data());
  return view.empty() || (at >= begin && at + view.size() <= begin + buffer.size());
}

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

bool Same(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}
bool Same(std::string_view a, std::string_view b) { return Same(AsBytes(a), AsBytes(b)); }
bool Same(const timespec& a, const timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}
bool Same(const nfs3::DirOpArgs& a, const nfs3::DirOpArgs& b) {
  return Same(a.dir, b.dir) && Same(a.name, b.name);
}
bool Same(const nfs3::Sattr& a, const nfs3::Sattr& b) {
  return a.mode == b.mode && a.uid == b.uid && a.gid == b.gid && a.size == b.size &&
         a.atime_how == b.atime_how && a.mtime_how == b.mtime_how &&
         (a.atime_how != nfs3::TimeHow::kClientTime || Same(a.atime, b.atime)) &&
         (a.mtime_how != nfs3::TimeHow::kClientTime || Same(a.mtime, b.mtime));
}

// Views and limits common to every decoded argument.
void CheckHandle(std::span<const uint8_t> handle, std::span<const uint8_t> input) {
  CHECK(handle.size() <= nfs3::kMaxHandleSize);
  CHECK(Inside(handle, input));
}
void CheckDirOp(const nfs3::DirOpArgs& args, std::span<const uint8_t> input) {
  CheckHandle(args.dir, input);
  CHECK(args.name.size() <= nfs3::kMaxWireString);
  CHECK(Inside(AsBytes(args.name), input));
}
void CheckTime(const timespec& t) { CHECK(t.tv_nsec >= 0 && t.tv_nsec < 1000000000); }
void CheckSattr(const nfs3::Sattr& s) {
  CHECK(static_cast<uint32_t>(s.atime_how) <= 2 && static_cast<uint32_t>(s.mtime_how) <= 2);
  if (s.atime_how == nfs3::TimeHow::kClientTime) CheckTime(s.atime);
  if (s.mtime_how == nfs3::TimeHow::kClientTime) CheckTime(s.mtime);
}

// An encoder written from RFC 1813, independent of the server's.
class Encoder {
 public:
  Encoder() : w_(bytes_) {}
  std::span<const uint8_t> bytes() const { return bytes_; }

  void Handle(std::span<const uint8_t> h) { w_.Opaque(h); }
  void DirOp(const nfs3::DirOpArgs& a) {
    Handle(a.dir);
    w_.String(a.name);
  }
  void Time(const timespec& t) {
    w_.U32(static_cast<uint32_t>(t.tv_sec));
    w_.U32(static_cast<uint32_t>(t.tv_nsec));
  }
  void SetTime(nfs3::TimeHow how, const timespec& t) {
    w_.U32(static_cast<uint32_t>(how));
    if (how == nfs3::TimeHow::kClientTime) Time(t);
  }
  template <typename T>
  void Optional(const std::optional<T>& v) {
    w_.Bool(v.has_value());
    if (!v) return;
    if constexpr (sizeof(T) == 8) {
      w_.U64(*v);
    } else {
      w_.U32(*v);
    }
  }
  void Sattr(const nfs3::Sattr& s) {
    Optional(s.mode);
    Optional(s.uid);
    Optional(s.gid);
    Optional(s.size);
    SetTime(s.atime_how, s.atime);
    SetTime(s.mtime_how, s.mtime);
  }
  rpc::XdrWriter& w() { return w_; }

 private:
  std::pmr::vector<uint8_t> bytes_;
  rpc::XdrWriter w_;
};

// Decodes `input` as `Args` with `decode`; on success checks the result,
// re-encodes it with `encode`, and decodes that again for `same`.
template <typename Args, typename DecodeFn, typename CheckFn, typename EncodeFn, typename SameFn>
bool RoundTrip(std::span<const uint8_t> input, DecodeFn decode, CheckFn check, EncodeFn encode,
               SameFn same) {
  rpc::XdrReader in(input);
  Args args;
  if (!decode(in, &args)) {
    CHECK(!in.ok());
    return false;
  }
  CHECK(in.ok());
  check(args);
  Encoder encoder;
  encode(encoder, args);
  CHECK(encoder.bytes().size() == in.position());
  rpc::XdrReader again_in(encoder.bytes());
  Args again;
  CHECK(decode(again_in, &again));
  CHECK(again_in.remaining() == 0);
  CHECK(same(args, again));
  return true;
}

template <typename Args>
bool Decoded(rpc::XdrReader& in, Args* args) {
  return nfs3::Decode(in, args);
}

bool CheckProcedure(uint32_t procedure, std::span<const uint8_t> input) {
  using namespace nfs3;  // the procedure numbers and argument types
  const auto handle_only = [&](const HandleArgs& a) { CheckHandle(a.handle, input); };
  switch (procedure) {
    case kNull:
      return true;
    case kGetattr:
    case kReadlink:
    case kFsstat:
    case kFsinfo:
    case kPathconf:
      return RoundTrip<HandleArgs>(
          input, Decoded<HandleArgs>, handle_only,
          [](Encoder& e, const HandleArgs& a) { e.Handle(a.handle); },
          [](const HandleArgs& a, const HandleArgs& b) { return Same(a.handle, b.handle); });
    case kSetattr:
      return RoundTrip<SetattrArgs>(
          input, Decoded<SetattrArgs>,
          [&](const SetattrArgs& a) {
            CheckHandle(a.handle, input);
            CheckSattr(a.attr);
            if (a.guard_ctime) CheckTime(*a.guard_ctime);
          },
          [](Encoder& e, const SetattrArgs& a) {
            e.Handle(a.handle);
            e.Sattr(a.attr);
            e.w().Bool(a.guard_ctime.has_value());
            if (a.guard_ctime) e.Time(*a.guard_ctime);
          },
          [](const SetattrArgs& a, const SetattrArgs& b) {
            return Same(a.handle, b.handle) && Same(a.attr, b.attr) &&
                   a.guard_ctime.has_value() == b.guard_ctime.has_value() &&
                   (!a.guard_ctime || Same(*a.guard_ctime, *b.guard_ctime));
          });
    case kLookup:
    case kRemove:
    case kRmdir:
      return RoundTrip<DirOpArgs>(
          input, Decoded<DirOpArgs>, [&](const DirOpArgs& a) { CheckDirOp(a, input); },
          [](Encoder& e, const DirOpArgs& a) { e.DirOp(a); },
          [](const DirOpArgs& a, const DirOpArgs& b) { return Same(a, b); });
    case kAccess:
      return RoundTrip<AccessArgs>(
          input, Decoded<AccessArgs>, [&](const AccessArgs& a) { CheckHandle(a.handle, input); },
          [](Encoder& e, const AccessArgs& a) {
            e.Handle(a.handle);
            e.w().U32(a.access);
          },
          [](const AccessArgs& a, const AccessArgs& b) {
            return Same(a.handle, b.handle) && a.access == b.access;
          });
    case kRead:
    case kCommit: {
      // READ and COMMIT arguments have the same shape.
      const auto encode = [](Encoder& e, const auto& a) {
        e.Handle(a.handle);
        e.w().U64(a.offset);
        e.w().U32(a.count);
      };
      const auto same = [](const auto& a, const auto& b) {
        return Same(a.handle, b.handle) && a.offset == b.offset && a.count == b.count;
      };
      const auto check = [&](const auto& a) { CheckHandle(a.handle, input); };
      if (procedure == kRead) {
        return RoundTrip<ReadArgs>(input, Decoded<ReadArgs>, check, encode, same);
      }
      return RoundTrip<CommitArgs>(input, Decoded<CommitArgs>, check, encode, same);
    }
    case kWrite:
      return RoundTrip<WriteArgs>(
          input, Decoded<WriteArgs>,
          [&](const WriteArgs& a) {
            CheckHandle(a.handle, input);
            CHECK(a.stable <= kFileSync);
            CHECK(a.data.size() == a.count);
            CHECK(Inside(a.data, input));
          },
          [](Encoder& e, const WriteArgs& a) {
            e.Handle(a.handle);
            e.w().U64(a.offset);
            e.w().U32(a.count);
            e.w().U32(a.stable);
            e.w().Opaque(a.data);
          },
          [](const WriteArgs& a, const WriteArgs& b) {
            return Same(a.handle, b.handle) && a.offset == b.offset && a.count == b.count &&
                   a.stable == b.stable && Same(a.data, b.data);
          });
    case kCreate:
      return RoundTrip<CreateArgs>(
          input, Decoded<CreateArgs>,
          [&](const CreateArgs& a) {
            CheckDirOp(a.where, input);
            CHECK(a.mode <= kExclusive);
            if (a.mode != kExclusive) CheckSattr(a.attr);
          },
          [](Encoder& e, const CreateArgs& a) {
            e.DirOp(a.where);
            e.w().U32(a.mode);
            if (a.mode == kExclusive) {
              e.w().FixedOpaque(a.verifier);
            } else {
              e.Sattr(a.attr);
            }
          },
          [](const CreateArgs& a, const CreateArgs& b) {
            return Same(a.where, b.where) && a.mode == b.mode &&
                   (a.mode == kExclusive ? a.verifier == b.verifier : Same(a.attr, b.attr));
          });
    case kMkdir:
      return RoundTrip<MkdirArgs>(
          input, Decoded<MkdirArgs>,
          [&](const MkdirArgs& a) {
            CheckDirOp(a.where, input);
            CheckSattr(a.attr);
          },
          [](Encoder& e, const MkdirArgs& a) {
            e.DirOp(a.where);
            e.Sattr(a.attr);
          },
          [](const MkdirArgs& a, const MkdirArgs& b) {
            return Same(a.where, b.where) && Same(a.attr, b.attr);
          });
    case kSymlink:
      return RoundTrip<SymlinkArgs>(
          input, Decoded<SymlinkArgs>,
          [&](const SymlinkArgs& a) {
            CheckDirOp(a.where, input);
            CheckSattr(a.attr);
            CHECK(a.target.size() <= kMaxWireString);
            CHECK(Inside(AsBytes(a.target), input));
          },
          [](Encoder& e, const SymlinkArgs& a) {
            e.DirOp(a.where);
            e.Sattr(a.attr);
            e.w().String(a.target);
          },
          [](const SymlinkArgs& a, const SymlinkArgs& b) {
            return Same(a.where, b.where) && Same(a.attr, b.attr) && Same(a.target, b.target);
          });
    case kMknod:
      return RoundTrip<MknodArgs>(
          input, Decoded<MknodArgs>, [&](const MknodArgs& a) { CheckDirOp(a.where, input); },
          [](Encoder& e, const MknodArgs& a) {
            e.DirOp(a.where);
            e.w().U32(a.type);
          },
          [](const MknodArgs& a, const MknodArgs& b) {
            return Same(a.where, b.where) && a.type == b.type;
          });
    case kRename:
      return RoundTrip<RenameArgs>(
          input, Decoded<RenameArgs>,
          [&](const RenameArgs& a) {
            CheckDirOp(a.from, input);
            CheckDirOp(a.to, input);
          },
          [](Encoder& e, const RenameArgs& a) {
            e.DirOp(a.from);
            e.DirOp(a.to);
          },
          [](const RenameArgs& a, const RenameArgs& b) {
            return Same(a.from, b.from) && Same(a.to, b.to);
          });
    case kLink:
      return RoundTrip<LinkArgs>(
          input, Decoded<LinkArgs>,
          [&](const LinkArgs& a) {
            CheckHandle(a.handle, input);
            CheckDirOp(a.link, input);
          },
          [](Encoder& e, const LinkArgs& a) {
            e.Handle(a.handle);
            e.DirOp(a.link);
          },
          [](const LinkArgs& a, const LinkArgs& b) {
            return Same(a.handle, b.handle) && Same(a.link, b.link);
          });
    case kReaddir:
    case kReaddirplus: {
      const bool plus = procedure == kReaddirplus;
      const auto decode = plus ? DecodeReaddirplus : DecodeReaddir;
      return RoundTrip<ReaddirArgs>(
          input, decode,
          [&](const ReaddirArgs& a) {
            CheckHandle(a.handle, input);
            if (!plus) CHECK(a.maxcount == a.count);
          },
          [plus](Encoder& e, const ReaddirArgs& a) {
            e.Handle(a.handle);
            e.w().U64(a.cookie);
            e.w().U64(a.verifier);
            e.w().U32(a.count);
            if (plus) e.w().U32(a.maxcount);
          },
          [](const ReaddirArgs& a, const ReaddirArgs& b) {
            return Same(a.handle, b.handle) && a.cookie == b.cookie && a.verifier == b.verifier &&
                   a.count == b.count && a.maxcount == b.maxcount;
          });
    }
    default:
      CHECK(false);
      return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint32_t procedure = data[0] % kProcedures;
  const std::span<const uint8_t> args(data + 1, size - 1);
  const bool decoded = server::nfs3::DecodeAnyArgs(procedure, args);
  CHECK(decoded == CheckProcedure(procedure, args));
  // Past the last procedure there is nothing to decode.
  CHECK(!server::nfs3::DecodeAnyArgs(kProcedures + data[0], args));
  return 0;
}
