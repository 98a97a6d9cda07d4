// Procedure-level NFSv3 and MOUNT v3 calls for tests, through libnfs-raw on
// a connected rpc_context (NfsClient::raw(), or any context connected to the
// server: MOUNT and NFS share the port). Tests use them to send a procedure
// with exact arguments (a saved or forged handle, a stable_how, a READDIR
// budget) and see the exact reply, which libnfs's high-level API hides.
//
// Contract:
// - Each call is synchronous: it is sent, and the connection is serviced
//   until its reply arrives (at most 120 s).
// - Ownership: everything returned belongs to the caller. Handles (Fh),
//   names, data and directory entries are copied out of libnfs's decoded
//   structures before libnfs frees them. Results without pointers
//   (GETATTR3res, WRITE3res, FSINFO3res, ...) are returned as libnfs
//   decoded them; the others are copied into the structs below. Arguments
//   are only read during the call.
// - A call that gets no reply (an RPC-level error such as GARBAGE_ARGS, a
//   timeout, a lost connection) is a test failure unless
//   set_expect_rpc_errors(true); its result carries NFS3ERR_SERVERFAULT
//   (MNT3ERR_SERVERFAULT for MNT, false for the calls returning bool) and
//   error() says why. So does a reply that breaks the protocol (a READ or
//   READDIR page without data and without eof).
// - Thread-safety: none. A RawNfs serves one rpc_context from one thread,
//   and nothing else may use that context meanwhile (no libnfs call on the
//   same NfsClient from another thread). RawNfs objects on different
//   connections are independent.
//
// READDIR pages also carry their size as XDR-encoded on the wire, so
// budgets can be checked exactly.
#pragma once

#include <gtest/gtest.h>
#include <nfsc/libnfs.h>
// clang-format off: libnfs-raw.h needs libnfs.h first
#include <nfsc/libnfs-raw-mount.h>
#include <nfsc/libnfs-raw-nfs.h>
#include <nfsc/libnfs-raw.h>
// clang-format on
#include <poll.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "tests/nfs_harness.h"
#include "tests/testing.h"

namespace vaultnfs::testing {

using Fh = std::string;  // the bytes of a file handle
using Verifier = std::array<char, NFS3_WRITEVERFSIZE>;

inline std::optional<fattr3> AttrOf(const post_op_attr& attr) {
  if (attr.attributes_follow == 0) return std::nullopt;
  return attr.post_op_attr_u.attributes;
}

// libnfs decodes linked lists (READDIR entries) at 4-byte alignment: such
// structs are read through an aligned copy.
template <typename T>
T Load(const void* p) {
  T value;
  std::memcpy(&value, p, sizeof value);
  return value;
}

inline Fh FhOf(const nfs_fh3& fh) { return {fh.data.data_val, fh.data.data_len}; }

inline Verifier VerifierOf(const char (&bytes)[NFS3_WRITEVERFSIZE]) {
  Verifier v{};
  std::memcpy(v.data(), bytes, v.size());
  return v;
}
// sattr3 built field by field: Sattr().Mode(0600).Size(0).
struct Sattr {
  sattr3 value{};

  Sattr& Mode(uint32_t mode) {
    value.mode.set_it = 1;
    value.mode.set_mode3_u.mode = mode;
    return *this;
  }
  Sattr& Uid(uint32_t uid) {
    value.uid.set_it = 1;
    value.uid.set_uid3_u.uid = uid;
    return *this;
  }
  Sattr& Gid(uint32_t gid) {
    value.gid.set_it = 1;
    value.gid.set_gid3_u.gid = gid;
    return *this;
  }
  Sattr& Size(uint64_t size) {
    value.size.set_it = 1;
    value.size.set_size3_u.size = size;
    return *this;
  }
  Sattr& Atime(nfstime3 t) {
    value.atime.set_it = SET_TO_CLIENT_TIME;
    value.atime.set_atime_u.atime = t;
    return *this;
  }
  Sattr& Mtime(nfstime3 t) {
    value.mtime.set_it = SET_TO_CLIENT_TIME;
    value.mtime.set_mtime_u.mtime = t;
    return *this;
  }
  Sattr& AtimeNow() {
    value.atime.set_it = SET_TO_SERVER_TIME;
    return *this;
  }
  Sattr& MtimeNow() {
    value.mtime.set_it = SET_TO_SERVER_TIME;
    return *this;
  }
};

// CREATE, MKDIR, SYMLINK, MKNOD.
struct NewObject {
  nfsstat3 status = NFS3ERR_SERVERFAULT;
  std::optional<Fh> fh;
  std::optional<fattr3> attr;
  wcc_data dir_wcc{};
};

struct LookupResult {
  nfsstat3 status = NFS3ERR_SERVERFAULT;
  Fh fh;
  std::optional<fattr3> attr;
  std::optional<fattr3> dir_attr;
};

struct ReadResult {
  nfsstat3 status = NFS3ERR_SERVERFAULT;
  std::optional<fattr3> attr;
  uint32_t count = 0;
  bool eof = false;
  std::string data;
};

struct ReadlinkResult {
  nfsstat3 status = NFS3ERR_SERVERFAULT;
  std::optional<fattr3> attr;
  std::string target;
};

struct DirEntry {
  uint64_t fileid = 0;
  std::string name;
  uint64_t cookie = 0;
  std::optional<fattr3> attr;  // READDIRPLUS only
  std::optional<Fh> fh;        // READDIRPLUS only
  size_t wire_size = 0;        // encoded in its page, value-follows included
};

// One READDIR or READDIRPLUS reply.
struct DirPage {
  nfsstat3 status = NFS3ERR_SERVERFAULT;
  std::optional<fattr3> dir_attr;
  uint64_t verifier = 0;
  std::vector<DirEntry> entries;
  bool eof = false;
  size_t encoded_size = 0;  // the whole result (READDIR3res), as sent
};

struct MountResult {
  mountstat3 status = MNT3ERR_SERVERFAULT;
  Fh fh;
  std::vector<int> flavors;
};

// A whole directory: READDIR or READDIRPLUS pages followed to eof.
struct DirListing {
  nfsstat3 status = NFS3ERR_SERVERFAULT;  // the first failure, if any
  std::vector<DirEntry> entries;          // as sent, "." and ".." included
  size_t pages = 0;
  size_t max_page_entries = 0;
};

class RawNfs {
 public:
  // `rpc` must be connected to the server (NfsClient::raw()).
  explicit RawNfs(rpc_context* rpc) : rpc_(rpc) {}

  bool Null() { return Call(rpc_nfs3_null_async, nullptr); }

  GETATTR3res Getattr(const Fh& fh) {
    GETATTR3args args{};
    args.object = Arg(fh);
    return Pod<GETATTR3res>(rpc_nfs3_getattr_async, &args);
  }

  SETATTR3res Setattr(const Fh& fh, const Sattr& attr,
                      std::optional<nfstime3> guard = std::nullopt) {
    SETATTR3args args{};
    args.object = Arg(fh);
    args.new_attributes = attr.value;
    if (guard) {
      args.guard.check = 1;
      args.guard.sattrguard3_u.obj_ctime = *guard;
    }
    return Pod<SETATTR3res>(rpc_nfs3_setattr_async, &args);
  }

  LookupResult Lookup(const Fh& dir, const std::string& name) {
    LOOKUP3args args{};
    args.what = DirOp(dir, name);
    LookupResult result;
    Run<LOOKUP3res>(rpc_nfs3_lookup_async, &args, [&](const LOOKUP3res& res) {
      result.status = res.status;
      if (res.status == NFS3_OK) {
        result.fh = FhOf(res.LOOKUP3res_u.resok.object);
        result.attr = AttrOf(res.LOOKUP3res_u.resok.obj_attributes);
        result.dir_attr = AttrOf(res.LOOKUP3res_u.resok.dir_attributes);
      } else {
        result.dir_attr = AttrOf(res.LOOKUP3res_u.resfail.dir_attributes);
      }
    });
    return result;
  }

  // LOOKUP of each component of `path` ("/a/b") from `root`: the first
  // failure, or the result for the last component (`root` for "/").
  LookupResult LookupPath(const Fh& root, std::string_view path) {
    LookupResult found;
    found.status = NFS3_OK;
    found.fh = root;
    for (size_t start = 0; start < path.size();) {
      const size_t end = std::min(path.find('/', start), path.size());
      if (end > start) {
        found = Lookup(found.fh, std::string(path.substr(start, end - start)));
        if (found.status != NFS3_OK) return found;
      }
      start = end + 1;
    }
    return found;
  }

  ACCESS3res Access(const Fh& fh, uint32_t bits) {
    ACCESS3args args{};
    args.object = Arg(fh);
    args.access = bits;
    return Pod<ACCESS3res>(rpc_nfs3_access_async, &args);
  }

  ReadlinkResult Readlink(const Fh& fh) {
    READLINK3args args{};
    args.symlink = Arg(fh);
    ReadlinkResult result;
    Run<READLINK3res>(rpc_nfs3_readlink_async, &args, [&](const READLINK3res& res) {
      result.status = res.status;
      result.attr = AttrOf(res.status == NFS3_OK ? res.READLINK3res_u.resok.symlink_attributes
                                                 : res.READLINK3res_u.resfail.symlink_attributes);
      if (res.status == NFS3_OK) result.target = res.READLINK3res_u.resok.data;
    });
    return result;
  }

  ReadResult Read(const Fh& fh, uint64_t offset, uint32_t count) {
    READ3args args{};
    args.file = Arg(fh);
    args.offset = offset;
    args.count = count;
    ReadResult result;
    Run<READ3res>(rpc_nfs3_read_async, &args, [&](const READ3res& res) {
      result.status = res.status;
      if (res.status == NFS3_OK) {
        const READ3resok& ok = res.READ3res_u.resok;
        result.attr = AttrOf(ok.file_attributes);
        result.count = ok.count;
        result.eof = ok.eof != 0;
        result.data.assign(ok.data.data_val, ok.data.data_len);
      } else {
        result.attr = AttrOf(res.READ3res_u.resfail.file_attributes);
      }
    });
    return result;
  }

  // The whole file in READs of `piece` bytes from offset 0 to eof: `data`
  // is all that was read, the rest is from the last READ. (The server
  // prepares a reply of `piece` bytes; in a Debug build that costs ~80 ms
  // per MiB, so small files are best read in small pieces.)
  ReadResult ReadAll(const Fh& fh, uint32_t piece = 64 * 1024) {
    ReadResult all;
    for (;;) {
      ReadResult read = Read(fh, all.data.size(), piece);
      all.status = read.status;
      all.attr = read.attr;
      all.count = read.count;
      all.eof = read.eof;
      if (read.status != NFS3_OK) return all;
      all.data += read.data;
      if (read.eof) return all;
      if (read.data.empty()) {
        all.status = Broken("READ returned no data without eof");
        return all;
      }
    }
  }

  WRITE3res Write(const Fh& fh, uint64_t offset, std::string_view data, stable_how stable) {
    WRITE3args args{};
    args.file = Arg(fh);
    args.offset = offset;
    args.count = static_cast<count3>(data.size());
    args.stable = stable;
    args.data.data_len = static_cast<u_int>(data.size());
    args.data.data_val = const_cast<char*>(data.data());
    return Pod<WRITE3res>(rpc_nfs3_write_async, &args);
  }

  NewObject Create(const Fh& dir, const std::string& name, createmode3 mode,
                   const Sattr& attr = {}) {
    CREATE3args args{};
    args.where = DirOp(dir, name);
    args.how.mode = mode;
    if (mode == UNCHECKED) args.how.createhow3_u.obj_attributes = attr.value;
    if (mode == GUARDED) args.how.createhow3_u.g_obj_attributes = attr.value;
    return Made<CREATE3res>(rpc_nfs3_create_async, &args);
  }

  NewObject CreateExclusive(const Fh& dir, const std::string& name, const Verifier& verifier) {
    CREATE3args args{};
    args.where = DirOp(dir, name);
    args.how.mode = EXCLUSIVE;
    std::memcpy(args.how.createhow3_u.verf, verifier.data(), verifier.size());
    return Made<CREATE3res>(rpc_nfs3_create_async, &args);
  }

  NewObject Mkdir(const Fh& dir, const std::string& name, const Sattr& attr = {}) {
    MKDIR3args args{};
    args.where = DirOp(dir, name);
    args.attributes = attr.value;
    return Made<MKDIR3res>(rpc_nfs3_mkdir_async, &args);
  }

  NewObject Symlink(const Fh& dir, const std::string& name, const std::string& target) {
    SYMLINK3args args{};
    args.where = DirOp(dir, name);
    args.symlink.symlink_data = const_cast<char*>(target.c_str());
    return Made<SYMLINK3res>(rpc_nfs3_symlink_async, &args);
  }

  NewObject Mknod(const Fh& dir, const std::string& name, ftype3 type) {
    MKNOD3args args{};
    args.where = DirOp(dir, name);
    args.what.type = type;
    return Made<MKNOD3res>(rpc_nfs3_mknod_async, &args);
  }

  REMOVE3res Remove(const Fh& dir, const std::string& name) {
    REMOVE3args args{};
    args.object = DirOp(dir, name);
    return Pod<REMOVE3res>(rpc_nfs3_remove_async, &args);
  }

  RMDIR3res Rmdir(const Fh& dir, const std::string& name) {
    RMDIR3args args{};
    args.object = DirOp(dir, name);
    return Pod<RMDIR3res>(rpc_nfs3_rmdir_async, &args);
  }

  RENAME3res Rename(const Fh& from_dir, const std::string& from_name, const Fh& to_dir,
                    const std::string& to_name) {
    RENAME3args args{};
    args.from = DirOp(from_dir, from_name);
    args.to = DirOp(to_dir, to_name);
    return Pod<RENAME3res>(rpc_nfs3_rename_async, &args);
  }

  LINK3res Link(const Fh& file, const Fh& dir, const std::string& name) {
    LINK3args args{};
    args.file = Arg(file);
    args.link = DirOp(dir, name);
    return Pod<LINK3res>(rpc_nfs3_link_async, &args);
  }

  DirPage Readdir(const Fh& dir, uint64_t cookie, uint64_t verifier, uint32_t count) {
    READDIR3args args{};
    args.dir = Arg(dir);
    args.cookie = cookie;
    std::memcpy(args.cookieverf, &verifier, sizeof verifier);
    args.count = count;
    return Page<READDIR3res>(rpc_nfs3_readdir_async, &args, zdr_READDIR3res);
  }

  DirPage Readdirplus(const Fh& dir, uint64_t cookie, uint64_t verifier, uint32_t dircount,
                      uint32_t maxcount) {
    READDIRPLUS3args args{};
    args.dir = Arg(dir);
    args.cookie = cookie;
    std::memcpy(args.cookieverf, &verifier, sizeof verifier);
    args.dircount = dircount;
    args.maxcount = maxcount;
    return Page<READDIRPLUS3res>(rpc_nfs3_readdirplus_async, &args, zdr_READDIRPLUS3res);
  }

  // All of `dir`, in READDIR pages of `count` bytes.
  DirListing ListDir(const Fh& dir, uint32_t count) {
    return List("READDIR", [&](uint64_t cookie, uint64_t verifier) {
      return Readdir(dir, cookie, verifier, count);
    });
  }

  // All of `dir`, in READDIRPLUS pages of `dircount` / `maxcount` bytes.
  DirListing ListDirPlus(const Fh& dir, uint32_t dircount, uint32_t maxcount) {
    return List("READDIRPLUS", [&](uint64_t cookie, uint64_t verifier) {
      return Readdirplus(dir, cookie, verifier, dircount, maxcount);
    });
  }

  FSSTAT3res Fsstat(const Fh& fh) {
    FSSTAT3args args{};
    args.fsroot = Arg(fh);
    return Pod<FSSTAT3res>(rpc_nfs3_fsstat_async, &args);
  }

  FSINFO3res Fsinfo(const Fh& fh) {
    FSINFO3args args{};
    args.fsroot = Arg(fh);
    return Pod<FSINFO3res>(rpc_nfs3_fsinfo_async, &args);
  }

  PATHCONF3res Pathconf(const Fh& fh) {
    PATHCONF3args args{};
    args.object = Arg(fh);
    return Pod<PATHCONF3res>(rpc_nfs3_pathconf_async, &args);
  }

  COMMIT3res Commit(const Fh& fh, uint64_t offset = 0, uint32_t count = 0) {
    COMMIT3args args{};
    args.file = Arg(fh);
    args.offset = offset;
    args.count = count;
    return Pod<COMMIT3res>(rpc_nfs3_commit_async, &args);
  }

  // MOUNT v3.
  bool MountNull() { return Call(rpc_mount3_null_async, nullptr); }

  MountResult Mnt(const std::string& path) {
    MountResult result;
    std::string arg = path;
    Report(Call(rpc_mount3_mnt_async, arg.data(),
                [&](void* data) {
                  const auto& res = *static_cast<mountres3*>(data);
                  result.status = res.fhs_status;
                  if (res.fhs_status != MNT3_OK) return;
                  const mountres3_ok& ok = res.mountres3_u.mountinfo;
                  result.fh.assign(ok.fhandle.fhandle3_val, ok.fhandle.fhandle3_len);
                  result.flavors.assign(
                      ok.auth_flavors.auth_flavors_val,
                      ok.auth_flavors.auth_flavors_val + ok.auth_flavors.auth_flavors_len);
                }),
           "MNT " + path);
    return result;
  }

  // (host, path) of every mount the server has recorded.
  std::vector<std::pair<std::string, std::string>> Dump() {
    std::vector<std::pair<std::string, std::string>> mounts;
    Report(Call(rpc_mount3_dump_async,
                [&](void* data) {
                  for (const void* p = *static_cast<mountlist*>(data); p != nullptr;) {
                    const auto m = Load<mountbody>(p);
                    mounts.emplace_back(m.ml_hostname, m.ml_directory);
                    p = m.ml_next;
                  }
                }),
           "DUMP");
    return mounts;
  }

  bool Umnt(const std::string& path) {
    std::string arg = path;
    return Call(rpc_mount3_umnt_async, arg.data(), nullptr);
  }

  bool Umntall() { return Call(rpc_mount3_umntall_async, nullptr); }

  // Each export's path and its group names.
  std::vector<std::pair<std::string, std::vector<std::string>>> Export() {
    std::vector<std::pair<std::string, std::vector<std::string>>> list;
    Report(Call(rpc_mount3_export_async,
                [&](void* data) {
                  for (const void* p = *static_cast<exports*>(data); p != nullptr;) {
                    const auto e = Load<exportnode>(p);
                    std::vector<std::string> groups;
                    for (const void* q = e.ex_groups; q != nullptr;) {
                      const auto g = Load<groupnode>(q);
                      groups.emplace_back(g.gr_name);
                      q = g.gr_next;
                    }
                    list.emplace_back(e.ex_dir, std::move(groups));
                    p = e.ex_next;
                  }
                }),
           "EXPORT");
    return list;
  }

  // Why the last call that returned false or a sentinel failed.
  const std::string& error() const { return error_; }
  // While true, a call without an NFS reply (an RPC-level refusal) is not
  // a test failure: the test expects one and checks the sentinel status.
  void set_expect_rpc_errors(bool expect) { expect_rpc_errors_ = expect; }

 private:
  using Reader = std::function<void(void*)>;

  struct Pending {
    bool done = false;
    int status = 0;
    std::string error;
    const Reader* read = nullptr;
  };

  static void OnReply(rpc_context* /*rpc*/, int status, void* data, void* private_data) {
    auto* pending = static_cast<Pending*>(private_data);
    pending->done = true;
    pending->status = status;
    if (status == RPC_STATUS_SUCCESS) {
      if (*pending->read) (*pending->read)(data);
    } else if (status == RPC_STATUS_ERROR && data != nullptr) {
      pending->error = static_cast<const char*>(data);
    } else {
      pending->error = "rpc status " + std::to_string(status);
    }
  }

  static nfs_fh3 Arg(const Fh& fh) {
    nfs_fh3 arg{};
    arg.data.data_len = static_cast<u_int>(fh.size());
    arg.data.data_val = const_cast<char*>(fh.data());
    return arg;
  }

  static diropargs3 DirOp(const Fh& dir, const std::string& name) {
    diropargs3 arg{};
    arg.dir = Arg(dir);
    arg.name = const_cast<char*>(name.c_str());
    return arg;
  }

  static size_t Padded(size_t n) { return (n + 3) & ~size_t{3}; }
  // value-follows, fileid, name, cookie
  static size_t EntryBytes(const char* name) { return 4 + 8 + 4 + Padded(std::strlen(name)) + 8; }
  static size_t WireSize(const entry3& e) { return EntryBytes(e.name); }
  // and the attributes (a fattr3 is 84 bytes) and handle, each after its "follows"
  static size_t WireSize(const entryplus3& e) {
    const size_t attr = e.name_attributes.attributes_follow != 0 ? 84 : 0;
    const size_t handle = e.name_handle.handle_follows != 0
                              ? 4 + Padded(e.name_handle.post_op_fh3_u.handle.data.data_len)
                              : 0;
    return EntryBytes(e.name) + 4 + attr + 4 + handle;
  }

  template <typename Res>
  size_t Encoded(uint32_t (*encode)(ZDR*, Res*), Res* res) {
    if (scratch_.empty()) scratch_.resize(size_t{4} << 20);
    ZDR zdr;
    zdrmem_create(&zdr, scratch_.data(), static_cast<uint32_t>(scratch_.size()), ZDR_ENCODE);
    const bool ok = encode(&zdr, res) != 0;
    const size_t size = zdr_getpos(&zdr);
    zdr_destroy(&zdr);
    return ok ? size : SIZE_MAX;
  }

  // Sends one call with `send(callback, private_data)` and services the
  // connection until its reply has been handed to `read` (which may be
  // null). False if no reply came.
  bool Send(const std::function<int(rpc_cb, void*)>& send, const Reader& read) {
    Pending pending;
    pending.read = &read;
    if (send(&RawNfs::OnReply, &pending) != 0) {
      error_ = std::string("could not send: ") + rpc_get_error(rpc_);
      return false;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (!pending.done) {
      // Each failure disconnects, which fails every call in flight, this
      // one included, so `pending` is not referenced once we return.
      if (std::chrono::steady_clock::now() > deadline) return Lost("no reply within 120 s");
      pollfd pfd{rpc_get_fd(rpc_), static_cast<short>(rpc_which_events(rpc_)), 0};
      if (pfd.fd < 0) return Lost("not connected");
      if (poll(&pfd, 1, 100) < 0) {
        if (errno == EINTR) continue;
        return Lost("poll failed");
      }
      if (rpc_service(rpc_, pfd.revents) < 0) return Lost("connection failed");
    }
    if (pending.status != RPC_STATUS_SUCCESS) {
      error_ = pending.error;
      return false;
    }
    return true;
  }

  bool Lost(const std::string& why) {
    error_ = why + ": " + rpc_get_error(rpc_);
    rpc_disconnect(rpc_, why.c_str());
    return false;
  }

  // Send() for libnfs's rpc_*_async functions, without and with an argument.
  bool Call(int (*fn)(rpc_context*, rpc_cb, void*), const Reader& read) {
    return Send([&](rpc_cb cb, void* p) { return fn(rpc_, cb, p); }, read);
  }
  template <typename A>
  bool Call(int (*fn)(rpc_context*, rpc_cb, A, void*), A arg, const Reader& read) {
    return Send([&](rpc_cb cb, void* p) { return fn(rpc_, cb, arg, p); }, read);
  }

  // A call without a reply is a test failure, unless one is expected.
  void Report(bool ok, const std::string& what) {
    if (!ok && !expect_rpc_errors_) ADD_FAILURE() << what << ": " << error_;
  }

  // A reply that breaks the protocol: reported like a call without one.
  nfsstat3 Broken(const std::string& why) {
    error_ = why;
    Report(false, "bad reply");
    return NFS3ERR_SERVERFAULT;
  }

  // The one template every NFS procedure goes through: `read` sees the
  // reply decoded as a Res.
  template <typename Res, typename Args, typename Read>
  void Run(int (*fn)(rpc_context*, rpc_cb, Args*, void*), Args* args, Read read) {
    Report(Call(fn, args, [&](void* data) { read(*static_cast<Res*>(data)); }), "NFS call failed");
  }

  template <typename Res, typename Args>
  Res Pod(int (*fn)(rpc_context*, rpc_cb, Args*, void*), Args* args) {
    Res res{};
    res.status = NFS3ERR_SERVERFAULT;
    Run<Res>(fn, args, [&](const Res& reply) { res = Load<Res>(&reply); });
    return res;
  }

  // CREATE3res, MKDIR3res, SYMLINK3res and MKNOD3res share one shape.
  template <typename Res, typename Args>
  NewObject Made(int (*fn)(rpc_context*, rpc_cb, Args*, void*), Args* args) {
    NewObject result;
    Run<Res>(fn, args, [&](const Res& res) {
      result.status = res.status;
      if (res.status != NFS3_OK) {
        result.dir_wcc = Resfail(res).dir_wcc;
        return;
      }
      const auto& ok = Resok(res);
      if (ok.obj.handle_follows != 0) result.fh = FhOf(ok.obj.post_op_fh3_u.handle);
      result.attr = AttrOf(ok.obj_attributes);
      result.dir_wcc = ok.dir_wcc;
    });
    return result;
  }

  // READDIR3res and READDIRPLUS3res share another.
  template <typename Res, typename Args>
  DirPage Page(int (*fn)(rpc_context*, rpc_cb, Args*, void*), Args* args,
               uint32_t (*encode)(ZDR*, Res*)) {
    DirPage page;
    Run<Res>(fn, args, [&](Res& res) {
      page.status = res.status;
      page.encoded_size = Encoded(encode, &res);
      if (res.status != NFS3_OK) {
        page.dir_attr = AttrOf(Resfail(res).dir_attributes);
        return;
      }
      const auto& ok = Resok(res);
      page.dir_attr = AttrOf(ok.dir_attributes);
      std::memcpy(&page.verifier, ok.cookieverf, sizeof page.verifier);
      using Entry = std::remove_pointer_t<decltype(ok.reply.entries)>;
      for (const void* p = ok.reply.entries; p != nullptr;) {
        const auto e = Load<Entry>(p);
        page.entries.push_back(EntryOf(e));
        p = e.nextentry;
      }
      page.eof = ok.reply.eof != 0;
    });
    return page;
  }

  static DirEntry EntryOf(const entry3& e) {
    return {e.fileid, e.name, e.cookie, std::nullopt, std::nullopt, WireSize(e)};
  }
  static DirEntry EntryOf(const entryplus3& e) {
    DirEntry entry{e.fileid,     e.name,     e.cookie, AttrOf(e.name_attributes),
                   std::nullopt, WireSize(e)};
    if (e.name_handle.handle_follows != 0) entry.fh = FhOf(e.name_handle.post_op_fh3_u.handle);
    return entry;
  }

  // Pages from `read_page(cookie, verifier)`, followed to eof.
  template <typename ReadPage>
  DirListing List(const std::string& what, ReadPage read_page) {
    DirListing list;
    uint64_t cookie = 0;
    uint64_t verifier = 0;
    for (;;) {
      DirPage page = read_page(cookie, verifier);
      list.status = page.status;
      if (page.status != NFS3_OK) return list;
      const size_t n = page.entries.size();
      ++list.pages;
      list.max_page_entries = std::max(list.max_page_entries, n);
      verifier = page.verifier;
      if (n > 0) cookie = page.entries.back().cookie;
      std::move(page.entries.begin(), page.entries.end(), std::back_inserter(list.entries));
      if (page.eof) return list;
      if (n == 0) {
        list.status = Broken(what + " page with no entries and no eof");
        return list;
      }
    }
  }

  static const CREATE3resok& Resok(const CREATE3res& r) { return r.CREATE3res_u.resok; }
  static const CREATE3resfail& Resfail(const CREATE3res& r) { return r.CREATE3res_u.resfail; }
  static const MKDIR3resok& Resok(const MKDIR3res& r) { return r.MKDIR3res_u.resok; }
  static const MKDIR3resfail& Resfail(const MKDIR3res& r) { return r.MKDIR3res_u.resfail; }
  static const SYMLINK3resok& Resok(const SYMLINK3res& r) { return r.SYMLINK3res_u.resok; }
  static const SYMLINK3resfail& Resfail(const SYMLINK3res& r) { return r.SYMLINK3res_u.resfail; }
  static const MKNOD3resok& Resok(const MKNOD3res& r) { return r.MKNOD3res_u.resok; }
  static const MKNOD3resfail& Resfail(const MKNOD3res& r) { return r.MKNOD3res_u.resfail; }
  static const READDIR3resok& Resok(const READDIR3res& r) { return r.READDIR3res_u.resok; }
  static const READDIR3resfail& Resfail(const READDIR3res& r) { return r.READDIR3res_u.resfail; }
  static const READDIRPLUS3resok& Resok(const READDIRPLUS3res& r) {
    return r.READDIRPLUS3res_u.resok;
  }
  static const READDIRPLUS3resfail& Resfail(const READDIRPLUS3res& r) {
    return r.READDIRPLUS3res_u.resfail;
  }

  rpc_context* rpc_;
  std::vector<char> scratch_;  // READDIR replies re-encoded to measure them
  std::string error_;
  bool expect_rpc_errors_ = false;
};
// All of fattr3, compared field by field with the differences named.
inline ::testing::AssertionResult SameAttr(const fattr3& a, const fattr3& b) {
  std::string diff;
  auto check = [&](const char* what, uint64_t x, uint64_t y) {
    if (x != y)
      diff += std::string(" ") + what + " " + std::to_string(x) + " != " + std::to_string(y);
  };
  check("type", a.type, b.type);
  check("mode", a.mode, b.mode);
  check("nlink", a.nlink, b.nlink);
  check("uid", a.uid, b.uid);
  check("gid", a.gid, b.gid);
  check("size", a.size, b.size);
  check("used", a.used, b.used);
  check("fsid", a.fsid, b.fsid);
  check("fileid", a.fileid, b.fileid);
  check("atime.s", a.atime.seconds, b.atime.seconds);
  check("atime.ns", a.atime.nseconds, b.atime.nseconds);
  check("mtime.s", a.mtime.seconds, b.mtime.seconds);
  check("mtime.ns", a.mtime.nseconds, b.mtime.nseconds);
  check("ctime.s", a.ctime.seconds, b.ctime.seconds);
  check("ctime.ns", a.ctime.nseconds, b.ctime.nseconds);
  if (diff.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "attributes differ:" << diff;
}

// A fresh vault served by a TestServer, one mounted client and its raw
// connection, and the root handle MNT gave.
class RawNfsTest : public ::testing::Test {
 protected:
  static constexpr char kPassword[] = "nfs test password";

  void SetUp() override {
    vaultcore::CreateOptions options;
    options.scrypt.n = 1024;  // fast unlock: these tests are about NFS
    ASSERT_TRUE(IsOk(vaultcore::Vault::Create(vault_path_, kPassword, options)));
    StartServer(Options());
  }

  // No background flush of UNSTABLE data: attributes then change only
  // when a test makes them, so wcc_data can be compared with GETATTR
  // however slowly a sanitized build runs.
  static TestServerOptions Options() {
    TestServerOptions options;
    options.write_back.idle_flush = std::chrono::milliseconds(0);
    return options;
  }

  // (Re)starts the server on the vault with `options`, and connects.
  void StartServer(const TestServerOptions& options) {
    raw_.reset();
    client_.reset();
    server_.reset();
    server_ = std::make_unique<TestServer>(vault_path_, kPassword, options);
    Connect();
  }

  // A new client connection (after TestServer::Restart()).
  void Connect() {
    raw_.reset();
    client_ = std::make_unique<NfsClient>(*server_);
    ASSERT_TRUE(client_->ok()) << client_->error();
    raw_ = std::make_unique<RawNfs>(client_->raw());
    MountResult mounted = raw_->Mnt("/");
    ASSERT_EQ(mounted.status, MNT3_OK);
    root_ = mounted.fh;
  }

  RawNfs& nfs() { return *raw_; }

  // Attributes from GETATTR, which must succeed.
  fattr3 Attr(const Fh& fh) {
    GETATTR3res res = raw_->Getattr(fh);
    EXPECT_EQ(res.status, NFS3_OK);
    return res.GETATTR3res_u.resok.obj_attributes;
  }

  // A new file with `content` (written FILE_SYNC); its handle.
  Fh MakeFile(const Fh& dir, const std::string& name, std::string_view content = {},
              uint32_t mode = 0644) {
    NewObject made = raw_->Create(dir, name, GUARDED, Sattr().Mode(mode));
    EXPECT_EQ(made.status, NFS3_OK) << name;
    if (!made.fh) return {};
    for (size_t done = 0; done < content.size();) {
      const size_t n = std::min<size_t>(content.size() - done, 1 << 20);
      WRITE3res written = raw_->Write(*made.fh, done, content.substr(done, n), FILE_SYNC);
      EXPECT_EQ(written.status, NFS3_OK) << name;
      if (written.status != NFS3_OK) break;
      done += n;
    }
    return *made.fh;
  }

  Fh MakeDir(const Fh& dir, const std::string& name, uint32_t mode = 0755) {
    NewObject made = raw_->Mkdir(dir, name, Sattr().Mode(mode));
    EXPECT_EQ(made.status, NFS3_OK) << name;
    return made.fh.value_or(Fh());
  }

  Fh Handle(const Fh& dir, const std::string& name) {
    LookupResult found = raw_->Lookup(dir, name);
    EXPECT_EQ(found.status, NFS3_OK) << name;
    return found.fh;
  }

  // The whole content of a file, read in 1 MiB READs.
  std::string Content(const Fh& fh) {
    ReadResult read = raw_->ReadAll(fh, 1 << 20);
    EXPECT_EQ(read.status, NFS3_OK);
    return std::move(read.data);
  }

  TempDir dir_;
  std::string vault_path_ = dir_.str() + "/vault";
  std::unique_ptr<TestServer> server_;
  std::unique_ptr<NfsClient> client_;
  std::unique_ptr<RawNfs> raw_;
  Fh root_;
};

}  // namespace vaultnfs::testing
