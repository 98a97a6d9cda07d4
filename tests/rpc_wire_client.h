// A hand-written RPC-over-TCP client for protocol tests: it sends what
// libnfs never would (odd fragments, garbage, forged credentials) and reads
// replies record by record. RpcWireTest starts an in-process server per
// test and hands out connections to it.
//
// Not thread-safe: one RawClient per thread. Everything returned is owned
// by the caller.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <memory_resource>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "rpc/xdr.h"
#include "tests/nfs_harness.h"
#include "tests/testing.h"

namespace vaultnfs::testing::rpc_wire {

constexpr char kPassword[] = "rpc protocol test password";

constexpr uint32_t kNfsProgram = 100003;
constexpr uint32_t kMountProgram = 100005;

// NFSv3 procedures used below (RFC 1813).
constexpr uint32_t kNull = 0;
constexpr uint32_t kGetattr = 1;
constexpr uint32_t kRead = 6;
constexpr uint32_t kWrite = 7;
constexpr uint32_t kCreate = 8;
constexpr uint32_t kRemove = 12;
constexpr uint32_t kMnt = 1;

constexpr uint32_t kNfs3Ok = 0;
constexpr uint32_t kNfs3ErrNoEnt = 2;
constexpr uint32_t kNfs3ErrAcces = 13;
constexpr uint32_t kNfs3ErrExist = 17;

// Reply fields (RFC 5531).
constexpr uint32_t kMsgAccepted = 0;
constexpr uint32_t kMsgDenied = 1;
constexpr uint32_t kRpcMismatch = 0;
constexpr uint32_t kAuthError = 1;
constexpr uint32_t kSuccess = 0;
constexpr uint32_t kProgUnavail = 1;
constexpr uint32_t kProgMismatch = 2;
constexpr uint32_t kProcUnavail = 3;
constexpr uint32_t kGarbageArgs = 4;
constexpr uint32_t kAuthBadCred = 1;
constexpr uint32_t kAuthTooWeak = 5;

using Bytes = std::vector<uint8_t>;

// ---------------------------------------------------------------------------
// A minimal RPC-over-TCP client.

class RawClient {
 public:
  // Connects to 127.0.0.1:`port`, from `local_port` if not 0 (which must be
  // free). nullptr on failure, with errno set.
  static std::unique_ptr<RawClient> Connect(uint16_t port, uint16_t local_port = 0) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return nullptr;
    auto client = std::unique_ptr<RawClient>(new RawClient(fd));
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (local_port != 0) {
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      sockaddr_in local{};
      local.sin_family = AF_INET;
      local.sin_port = htons(local_port);
      local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) return nullptr;
    }
    sockaddr_in server{};
    server.sin_family = AF_INET;
    server.sin_port = htons(port);
    server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&server), sizeof server) != 0) return nullptr;
    return client;
  }

  ~RawClient() { close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  uint16_t local_port() const {
    sockaddr_in local{};
    socklen_t length = sizeof local;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &length);
    return ntohs(local.sin_port);
  }

  bool SendAll(std::span<const uint8_t> bytes) {
    while (!bytes.empty()) {
      const ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      bytes = bytes.subspan(static_cast<size_t>(n));
    }
    return true;
  }

  // The record as fragments of the given sizes (which must add up to its
  // size), the last one marked as such.
  static Bytes Frame(std::span<const uint8_t> record, const std::vector<size_t>& fragment_sizes) {
    Bytes out;
    size_t pos = 0;
    for (size_t i = 0; i < fragment_sizes.size(); ++i) {
      uint32_t mark = static_cast<uint32_t>(fragment_sizes[i]);
      if (i + 1 == fragment_sizes.size()) mark |= 0x80000000u;
      for (int shift = 24; shift >= 0; shift -= 8)
        out.push_back(static_cast<uint8_t>(mark >> shift));
      out.insert(out.end(), record.begin() + static_cast<ptrdiff_t>(pos),
                 record.begin() + static_cast<ptrdiff_t>(pos + fragment_sizes[i]));
      pos += fragment_sizes[i];
    }
    return out;
  }
  static Bytes Frame(std::span<const uint8_t> record) { return Frame(record, {record.size()}); }

  bool SendRecord(std::span<const uint8_t> record) { return SendAll(Frame(record)); }

  // Reads one record; false on timeout, end of stream or error.
  bool ReadRecord(Bytes* record, int* fragments = nullptr, int timeout_ms = 20000) {
    record->clear();
    int count = 0;
    for (;;) {
      uint8_t mark[4];
      if (!ReadExactly(mark, timeout_ms)) return false;
      const uint32_t value =
          uint32_t{mark[0]} << 24 | uint32_t{mark[1]} << 16 | uint32_t{mark[2]} << 8 | mark[3];
      const size_t length = value & 0x7fffffffu;
      const size_t at = record->size();
      record->resize(at + length);
      if (!ReadExactly({record->data() + at, length}, timeout_ms)) return false;
      ++count;
      if ((value & 0x80000000u) != 0) break;
    }
    if (fragments != nullptr) *fragments = count;
    return true;
  }

  // True if nothing arrives for `ms` milliseconds (and the stream is open).
  bool Quiet(int ms) {
    pollfd p{fd_, POLLIN, 0};
    return poll(&p, 1, ms) == 0;
  }

  // True if the server closes the connection within `ms` milliseconds
  // (bytes still arriving before the end are discarded).
  bool WaitClosed(int ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      uint8_t sink[4096];
      const ssize_t n = recv(fd_, sink, sizeof sink, 0);
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) return true;
    }
  }

 private:
  explicit RawClient(int fd) : fd_(fd) {}

  bool ReadExactly(std::span<uint8_t> out, int timeout_ms) {
    while (!out.empty()) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, timeout_ms) <= 0) return false;
      const ssize_t n = recv(fd_, out.data(), out.size(), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      out = out.subspan(static_cast<size_t>(n));
    }
    return true;
  }

  int fd_;
};

// ---------------------------------------------------------------------------
// Building calls.

struct Credential {
  uint32_t flavor = 0;
  Bytes body;
};

inline Credential AuthNone() { return {}; }

inline Credential AuthSys(uint32_t uid = 0, uint32_t gid = 0) {
  std::pmr::vector<uint8_t> body;
  rpc::XdrWriter w(body);
  w.U32(12345);  // stamp
  w.String("rpc-protocol-test");
  w.U32(uid);
  w.U32(gid);
  w.U32(1);  // one supplementary group
  w.U32(gid);
  return {1, Bytes(body.begin(), body.end())};
}

// A call message with `args` appended verbatim.
inline Bytes CallRecord(uint32_t xid, uint32_t program, uint32_t version, uint32_t procedure,
                        const Credential& credential, std::span<const uint8_t> args = {},
                        uint32_t rpc_version = 2, uint32_t message_type = 0) {
  std::pmr::vector<uint8_t> out;
  rpc::XdrWriter w(out);
  w.U32(xid);
  w.U32(message_type);
  w.U32(rpc_version);
  w.U32(program);
  w.U32(version);
  w.U32(procedure);
  w.U32(credential.flavor);
  w.Opaque(credential.body);
  w.U32(0);  // verifier: AUTH_NONE
  w.U32(0);
  out.insert(out.end(), args.begin(), args.end());
  return Bytes(out.begin(), out.end());
}

// Arguments, written with an XdrWriter.
class Args {
 public:
  Args() : writer_(bytes_) {}
  rpc::XdrWriter& w() { return writer_; }
  std::span<const uint8_t> span() const { return bytes_; }

 private:
  std::pmr::vector<uint8_t> bytes_;
  rpc::XdrWriter writer_;
};

inline void EmptySattr(rpc::XdrWriter& w) {
  for (int i = 0; i < 4; ++i) w.Bool(false);  // mode, uid, gid, size
  w.U32(0);                                   // atime: DONT_CHANGE
  w.U32(0);                                   // mtime: DONT_CHANGE
}

// ---------------------------------------------------------------------------
// Reading replies.

struct Reply {
  uint32_t xid = 0;
  uint32_t reply_stat = UINT32_MAX;   // kMsgAccepted or kMsgDenied
  uint32_t accept_stat = UINT32_MAX;  // when accepted
  uint32_t reject_stat = UINT32_MAX;  // when denied
  uint32_t auth_stat = UINT32_MAX;    // when denied with AUTH_ERROR
  uint32_t low = 0;                   // PROG_MISMATCH or RPC_MISMATCH
  uint32_t high = 0;
  Bytes results;  // what follows an accepted SUCCESS
  Bytes raw;      // the whole record
};

inline std::optional<Reply> ParseReply(const Bytes& record) {
  Reply reply;
  reply.raw = record;
  rpc::XdrReader r(record);
  reply.xid = r.U32();
  if (r.U32() != 1) return std::nullopt;  // not a REPLY
  reply.reply_stat = r.U32();
  if (reply.reply_stat == kMsgAccepted) {
    r.U32();  // verifier flavor
    r.Opaque(400);
    reply.accept_stat = r.U32();
    if (reply.accept_stat == kProgMismatch) {
      reply.low = r.U32();
      reply.high = r.U32();
    } else if (reply.accept_stat == kSuccess) {
      const auto rest = std::span<const uint8_t>(record).subspan(r.position());
      reply.results.assign(rest.begin(), rest.end());
    }
  } else if (reply.reply_stat == kMsgDenied) {
    reply.reject_stat = r.U32();
    if (reply.reject_stat == kRpcMismatch) {
      reply.low = r.U32();
      reply.high = r.U32();
    } else if (reply.reject_stat == kAuthError) {
      reply.auth_stat = r.U32();
    }
  } else {
    return std::nullopt;
  }
  if (!r.ok()) return std::nullopt;
  return reply;
}

// Reads one reply from `client`; fails the test (and returns nullopt) if
// none arrives or it does not parse.
inline std::optional<Reply> ReadReply(RawClient& client, int* fragments = nullptr) {
  Bytes record;
  if (!client.ReadRecord(&record, fragments)) {
    ADD_FAILURE() << "no reply (timeout or connection closed)";
    return std::nullopt;
  }
  auto reply = ParseReply(record);
  if (!reply) ADD_FAILURE() << "malformed reply of " << record.size() << " bytes";
  return reply;
}

// The post_op_attr and wcc_data shapes, skipped.
inline void SkipPostOpAttr(rpc::XdrReader& r) {
  if (r.Bool()) r.FixedOpaque(84);
}
inline void SkipWcc(rpc::XdrReader& r) {
  if (r.Bool()) r.FixedOpaque(24);
  SkipPostOpAttr(r);
}

inline std::vector<size_t> EvenFragments(size_t total, size_t count) {
  std::vector<size_t> sizes(count, total / count);
  for (size_t i = 0; i < total % count; ++i) ++sizes[i];
  return sizes;
}

// ---------------------------------------------------------------------------

class RpcWireTest : public ::testing::Test {
 protected:
  void SetUp() override {
    vaultcore::CreateOptions options;
    options.scrypt.n = 1024;  // fast unlock: these tests are about RPC
    ASSERT_TRUE(IsOk(vaultcore::Vault::Create(vault_path_, kPassword, options)));
  }

  void Serve(const TestServerOptions& options = {}) {
    server_.reset();
    server_ = std::make_unique<TestServer>(vault_path_, kPassword, options);
  }

  std::unique_ptr<RawClient> Connect(uint16_t local_port = 0) {
    auto client = RawClient::Connect(server_->port(), local_port);
    if (client == nullptr) ADD_FAILURE() << "connect: " << std::strerror(errno);
    return client;
  }

  // Sends one call and reads one reply.
  std::optional<Reply> Call(RawClient& client, uint32_t program, uint32_t version,
                            uint32_t procedure, std::span<const uint8_t> args = {},
                            const Credential& credential = AuthSys()) {
    const uint32_t xid = next_xid_++;
    if (!client.SendRecord(CallRecord(xid, program, version, procedure, credential, args))) {
      ADD_FAILURE() << "send failed";
      return std::nullopt;
    }
    auto reply = ReadReply(client);
    if (reply && reply->xid != xid) {
      ADD_FAILURE() << "reply xid " << reply->xid << ", want " << xid;
      return std::nullopt;
    }
    return reply;
  }

  // MNT "/": the root directory's handle.
  Bytes RootHandle(RawClient& client) {
    Args args;
    args.w().String("/");
    auto reply = Call(client, kMountProgram, 3, kMnt, args.span());
    if (!reply || reply->accept_stat != kSuccess) {
      ADD_FAILURE() << "MNT failed";
      return {};
    }
    rpc::XdrReader r(reply->results);
    EXPECT_EQ(r.U32(), 0u) << "mountstat";
    const auto handle = r.Opaque(64);
    EXPECT_TRUE(r.ok());
    return Bytes(handle.begin(), handle.end());
  }

  // CREATE `name` in `dir` (UNCHECKED); the new file's handle.
  Bytes CreateFile(RawClient& client, const Bytes& dir, const std::string& name) {
    Args args;
    args.w().Opaque(dir);
    args.w().String(name);
    args.w().U32(0);  // UNCHECKED
    EmptySattr(args.w());
    auto reply = Call(client, kNfsProgram, 3, kCreate, args.span());
    if (!reply || reply->accept_stat != kSuccess) {
      ADD_FAILURE() << "CREATE failed";
      return {};
    }
    rpc::XdrReader r(reply->results);
    EXPECT_EQ(r.U32(), kNfs3Ok) << "CREATE " << name;
    EXPECT_TRUE(r.Bool()) << "CREATE returned no handle";
    const auto handle = r.Opaque(64);
    EXPECT_TRUE(r.ok());
    return Bytes(handle.begin(), handle.end());
  }

  static Bytes GetattrArgs(const Bytes& handle) {
    Args args;
    args.w().Opaque(handle);
    return Bytes(args.span().begin(), args.span().end());
  }

  static Bytes WriteArgs(const Bytes& handle, uint64_t offset, const Bytes& data) {
    Args args;
    args.w().Opaque(handle);
    args.w().U64(offset);
    args.w().U32(static_cast<uint32_t>(data.size()));
    args.w().U32(2);  // FILE_SYNC
    args.w().Opaque(data);
    return Bytes(args.span().begin(), args.span().end());
  }

  // The file's content through READ, in as many calls as it takes.
  Bytes ReadAll(RawClient& client, const Bytes& handle) {
    Bytes content;
    for (;;) {
      Args args;
      args.w().Opaque(handle);
      args.w().U64(content.size());
      args.w().U32(1 << 20);
      auto reply = Call(client, kNfsProgram, 3, kRead, args.span());
      if (!reply || reply->accept_stat != kSuccess) {
        ADD_FAILURE() << "READ failed";
        return content;
      }
      rpc::XdrReader r(reply->results);
      EXPECT_EQ(r.U32(), kNfs3Ok);
      SkipPostOpAttr(r);
      r.U32();  // count
      const bool eof = r.Bool();
      const auto data = r.Opaque(1 << 20);
      EXPECT_TRUE(r.ok());
      content.insert(content.end(), data.begin(), data.end());
      if (eof || !r.ok()) return content;
      if (data.empty()) {
        ADD_FAILURE() << "READ returned nothing before eof";
        return content;
      }
    }
  }

  TempDir dir_;
  std::string vault_path_ = dir_.str() + "/vault";
  std::unique_ptr<TestServer> server_;
  uint32_t next_xid_ = 1000;
};

}  // namespace vaultnfs::testing::rpc_wire
