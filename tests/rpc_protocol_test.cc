// The RPC layer as a hostile or unusual client sees it, over raw TCP
// sockets against an in-process server: record marking (fragments, size
// limit), malformed calls and arguments, the accept and reject statuses of
// RFC 5531, the security policy (reserved ports, AUTH_SYS, allowed uids),
// pipelining and out-of-order replies, and the duplicate-request cache.
//
// The client here is written by hand on purpose: libnfs only sends what a
// well-behaved client sends.
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

namespace vaultnfs::testing {
namespace {

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

Credential AuthNone() { return {}; }

Credential AuthSys(uint32_t uid = 0, uint32_t gid = 0) {
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
Bytes CallRecord(uint32_t xid, uint32_t program, uint32_t version, uint32_t procedure,
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

void EmptySattr(rpc::XdrWriter& w) {
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

std::optional<Reply> ParseReply(const Bytes& record) {
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
std::optional<Reply> ReadReply(RawClient& client, int* fragments = nullptr) {
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
void SkipPostOpAttr(rpc::XdrReader& r) {
  if (r.Bool()) r.FixedOpaque(84);
}
void SkipWcc(rpc::XdrReader& r) {
  if (r.Bool()) r.FixedOpaque(24);
  SkipPostOpAttr(r);
}

std::vector<size_t> EvenFragments(size_t total, size_t count) {
  std::vector<size_t> sizes(count, total / count);
  for (size_t i = 0; i < total % count; ++i) ++sizes[i];
  return sizes;
}

// ---------------------------------------------------------------------------

class RpcProtocolTest : public ::testing::Test {
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

// ---------------------------------------------------------------------------
// Record marking.

TEST_F(RpcProtocolTest, NullInOneByteFragmentsGetsOneSingleFragmentReply) {
  Serve();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  const Bytes call = CallRecord(7, kNfsProgram, 3, kNull, AuthNone());
  ASSERT_TRUE(client->SendAll(RawClient::Frame(call, std::vector<size_t>(call.size(), 1))));
  int fragments = 0;
  auto reply = ReadReply(*client, &fragments);
  ASSERT_TRUE(reply);
  EXPECT_EQ(fragments, 1);
  EXPECT_EQ(reply->xid, 7u);
  EXPECT_EQ(reply->reply_stat, kMsgAccepted);
  EXPECT_EQ(reply->accept_stat, kSuccess);
  EXPECT_TRUE(reply->results.empty());
  EXPECT_TRUE(client->Quiet(200)) << "more than one reply";
}

TEST_F(RpcProtocolTest, EmptyFragmentsAreAllowed) {
  Serve();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  const Bytes call = CallRecord(8, kNfsProgram, 3, kNull, AuthNone());
  // Empty fragments first, in the middle and last.
  ASSERT_TRUE(client->SendAll(RawClient::Frame(call, {0, 10, 0, 0, call.size() - 10, 0})));
  auto reply = ReadReply(*client);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->xid, 8u);
  EXPECT_EQ(reply->accept_stat, kSuccess);
}

TEST_F(RpcProtocolTest, WriteOfOneMebibyteIn513Fragments) {
  Serve();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  const Bytes root = RootHandle(*client);
  const Bytes file = CreateFile(*client, root, "fragmented.bin");
  ASSERT_FALSE(file.empty());

  Bytes data(1 << 20);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 31 + (i >> 12));
  const Bytes call = CallRecord(99, kNfsProgram, 3, kWrite, AuthSys(), WriteArgs(file, 0, data));
  // As pynfs does it: 513 fragments for one 1 MiB WRITE.
  ASSERT_TRUE(client->SendAll(RawClient::Frame(call, EvenFragments(call.size(), 513))));
  int fragments = 0;
  auto reply = ReadReply(*client, &fragments);
  ASSERT_TRUE(reply);
  EXPECT_EQ(fragments, 1);
  EXPECT_EQ(reply->xid, 99u);
  ASSERT_EQ(reply->accept_stat, kSuccess);
  rpc::XdrReader r(reply->results);
  EXPECT_EQ(r.U32(), kNfs3Ok);
  SkipWcc(r);
  EXPECT_EQ(r.U32(), data.size()) << "count";
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(client->Quiet(200)) << "more than one reply";

  EXPECT_EQ(ReadAll(*client, file), data);
}

TEST_F(RpcProtocolTest, RecordOverTheLimitClosesOnlyThatConnection) {
  Serve();
  auto bystander = Connect();
  ASSERT_NE(bystander, nullptr);
  ASSERT_TRUE(Call(*bystander, kNfsProgram, 3, kNull));

  auto client = Connect();
  ASSERT_NE(client, nullptr);
  // A last fragment of 2 MiB announced; the server must not wait for it.
  const uint8_t mark[4] = {0x80, 0x20, 0x00, 0x00};
  ASSERT_TRUE(client->SendAll(mark));
  const Bytes some(4096, 0xab);
  (void)client->SendAll(some);  // the server may have closed already
  EXPECT_TRUE(client->WaitClosed(10000));

  // The same across fragments: 1 MiB, then another 1 MiB.
  auto second = Connect();
  ASSERT_NE(second, nullptr);
  Bytes big(4 + (1 << 20), 0);
  big[1] = 0x10;  // not last, 1 MiB
  (void)second->SendAll(big);
  const uint8_t next[4] = {0x80, 0x10, 0x00, 0x00};
  (void)second->SendAll(next);
  EXPECT_TRUE(second->WaitClosed(10000));

  // Everyone else is still served.
  auto reply = Call(*bystander, kNfsProgram, 3, kNull);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->accept_stat, kSuccess);
  auto fresh = Connect();
  ASSERT_NE(fresh, nullptr);
  reply = Call(*fresh, kNfsProgram, 3, kNull);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->accept_stat, kSuccess);
}

// Records that are dropped without a reply (empty ones decode as no call
// at all) must not pile up state or stack: a reader of 64 KiB holds 16384
// of them.
TEST_F(RpcProtocolTest, ManyDroppedRecordsInOneRead) {
  Serve();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  Bytes stream;
  for (int i = 0; i < 40000; ++i) stream.insert(stream.end(), {0x80, 0, 0, 0});
  const Bytes null_call = RawClient::Frame(CallRecord(5, kNfsProgram, 3, kNull, AuthNone()));
  stream.insert(stream.end(), null_call.begin(), null_call.end());
  ASSERT_TRUE(client->SendAll(stream));
  auto reply = ReadReply(*client);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->xid, 5u);
  EXPECT_EQ(reply->accept_stat, kSuccess);
}

// ---------------------------------------------------------------------------
// Malformed calls.

bool IsNfsStat(uint32_t stat) {
  static const std::set<uint32_t> kKnown = {
      0,  1,  2,  5,  6,  13, 17,    18,    19,    20,    21,    22,    27,    28,   30,
      31, 63, 66, 69, 70, 71, 10001, 10002, 10003, 10004, 10005, 10006, 10007, 10008};
  return kKnown.contains(stat);
}

// Random arguments for every procedure of both programs, alone and after a
// valid directory handle (so that decoders past the handle are reached):
// GARBAGE_ARGS or a proper NFS error, and the server keeps answering.
TEST_F(RpcProtocolTest, GarbageArgumentsGetGarbageArgsOrAnError) {
  Serve();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  const Bytes root = RootHandle(*client);
  ASSERT_FALSE(root.empty());
  std::mt19937 random(20240601);
  struct Target {
    uint32_t program;
    uint32_t procedures;
  };
  for (const Target target : {Target{kNfsProgram, 22}, Target{kMountProgram, 6}}) {
    for (uint32_t procedure = 0; procedure < target.procedures; ++procedure) {
      for (int round = 0; round < 64; ++round) {
        Bytes args;
        if (round % 2 == 1) {  // a real handle first
          args.insert(args.end(), {0, 0, 0, static_cast<uint8_t>(root.size())});
          args.insert(args.end(), root.begin(), root.end());
        }
        const size_t length =
            std::uniform_int_distribution<size_t>(0, round < 32 ? 24 : 400)(random);
        for (size_t i = 0; i < length; ++i) args.push_back(static_cast<uint8_t>(random()));
        // Small numbers are likelier to be valid lengths and discriminants.
        if (round % 3 == 0) {
          for (size_t i = 0; i < args.size(); ++i) {
            if (i % 4 != 3 && (round % 2 == 0 || i >= 4 + root.size())) args[i] = 0;
          }
        }
        SCOPED_TRACE("program " + std::to_string(target.program) + " procedure " +
                     std::to_string(procedure) + " round " + std::to_string(round));
        auto reply = Call(*client, target.program, 3, procedure, args);
        ASSERT_TRUE(reply);
        ASSERT_EQ(reply->reply_stat, kMsgAccepted);
        ASSERT_TRUE(reply->accept_stat == kSuccess || reply->accept_stat == kGarbageArgs)
            << "accept_stat " << reply->accept_stat;
        if (target.program == kNfsProgram && procedure != kNull && reply->accept_stat == kSuccess) {
          rpc::XdrReader r(reply->results);
          const uint32_t stat = r.U32();
          EXPECT_TRUE(r.ok() && IsNfsStat(stat)) << "nfsstat3 " << stat;
        }
      }
    }
  }
  auto reply = Call(*client, kNfsProgram, 3, kNull);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->accept_stat, kSuccess);
}

TEST_F(RpcProtocolTest, UnknownProgramIsProgUnavail) {
  Serve();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  for (uint32_t procedure : {0u, 1u}) {
    auto reply = Call(*client, 100099, 1, procedure);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->reply_stat, kMsgAccepted);
    EXPECT_EQ(reply->accept_stat, kProgUnavail);
  }
}

TEST_F(RpcProtocolTest, OtherNfsVersionsAreProgMismatch) {
  Serve();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  for (uint32_t version : {2u, 4u}) {
    for (uint32_t procedure : {0u, 1u}) {
      auto reply = Call(*client, kNfsProgram, version, procedure);
      ASSERT_TRUE(reply);
      EXPECT_EQ(reply->reply_stat, kMsgAccepted);
      EXPECT_EQ(reply->accept_stat, kProgMismatch) << "version " << version;
      EXPECT_EQ(reply->low, 3u);
      EXPECT_EQ(reply->high, 3u);
    }
  }
  auto reply = Call(*client, kMountProgram, 1, 0);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->accept_stat, kProgMismatch);
  EXPECT_EQ(reply->low, 3u);
  EXPECT_EQ(reply->high, 3u);
}

TEST_F(RpcProtocolTest, UnknownProcedureIsProcUnavail) {
  Serve();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  for (const auto& [program, procedure] :
       {std::pair{kNfsProgram, 22u}, std::pair{kNfsProgram, 0xffffffffu},
        std::pair{kMountProgram, 6u}}) {
    auto reply = Call(*client, program, 3, procedure);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->reply_stat, kMsgAccepted);
    EXPECT_EQ(reply->accept_stat, kProcUnavail) << program << " " << procedure;
  }
}

TEST_F(RpcProtocolTest, RpcVersion3IsRpcMismatch) {
  Serve();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->SendRecord(CallRecord(42, kNfsProgram, 3, kNull, AuthNone(), {}, 3)));
  auto reply = ReadReply(*client);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->xid, 42u);
  EXPECT_EQ(reply->reply_stat, kMsgDenied);
  EXPECT_EQ(reply->reject_stat, kRpcMismatch);
  EXPECT_EQ(reply->low, 2u);
  EXPECT_EQ(reply->high, 2u);
}

TEST_F(RpcProtocolTest, ReplyMessagesAreDroppedSilently) {
  Serve();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->SendRecord(CallRecord(41, kNfsProgram, 3, kNull, AuthNone(), {}, 2, 1)));
  // A message type that is neither CALL nor REPLY.
  ASSERT_TRUE(client->SendRecord(CallRecord(43, kNfsProgram, 3, kNull, AuthNone(), {}, 2, 7)));
  ASSERT_TRUE(client->SendRecord(CallRecord(44, kNfsProgram, 3, kNull, AuthNone())));
  auto reply = ReadReply(*client);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->xid, 44u);
  EXPECT_TRUE(client->Quiet(200));
}

TEST_F(RpcProtocolTest, TruncatedCallHeadersGetNoSuccess) {
  Serve();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  const Bytes full = CallRecord(0, kNfsProgram, 3, kGetattr, AuthSys());
  std::set<uint32_t> truncated_xids;
  for (size_t length = 0; length < full.size(); ++length) {
    Bytes call =
        CallRecord(static_cast<uint32_t>(100 + length), kNfsProgram, 3, kGetattr, AuthSys());
    call.resize(length);
    truncated_xids.insert(static_cast<uint32_t>(100 + length));
    ASSERT_TRUE(client->SendRecord(call));
  }
  // An opaque_auth whose length runs past the end of the record.
  Bytes overlong = CallRecord(90, kNfsProgram, 3, kGetattr, AuthSys());
  overlong[6 * 4 + 3] = 0xff;  // credential body length
  truncated_xids.insert(90);
  ASSERT_TRUE(client->SendRecord(overlong));
  ASSERT_TRUE(client->SendRecord(CallRecord(45, kNfsProgram, 3, kNull, AuthNone())));
  for (;;) {
    auto reply = ReadReply(*client);
    ASSERT_TRUE(reply);
    if (reply->xid == 45) break;
    // Whatever the server says to a truncated header, it is not success.
    EXPECT_TRUE(truncated_xids.contains(reply->xid)) << reply->xid;
    EXPECT_FALSE(reply->reply_stat == kMsgAccepted && reply->accept_stat == kSuccess);
  }
}

// ---------------------------------------------------------------------------
// Security policy.

TEST_F(RpcProtocolTest, AuthNoneIsOnlyForNull) {
  Serve();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  auto reply = Call(*client, kNfsProgram, 3, kNull, {}, AuthNone());
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->accept_stat, kSuccess);
  reply = Call(*client, kNfsProgram, 3, kGetattr, GetattrArgs(Bytes(54, 1)), AuthNone());
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->reply_stat, kMsgDenied);
  EXPECT_EQ(reply->reject_stat, kAuthError);
  EXPECT_EQ(reply->auth_stat, kAuthTooWeak);
  Args path;
  path.w().String("/");
  reply = Call(*client, kMountProgram, 3, kMnt, path.span(), AuthNone());
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->reply_stat, kMsgDenied);
  EXPECT_EQ(reply->reject_stat, kAuthError);
}

TEST_F(RpcProtocolTest, MalformedAuthSysIsBadCred) {
  Serve();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  std::vector<std::pair<std::string, Credential>> cases;
  {
    Credential c = AuthSys();
    c.body.resize(c.body.size() - 4);  // the last gid missing
    cases.emplace_back("truncated", c);
  }
  {
    Credential c = AuthSys();
    c.body.insert(c.body.end(), {0, 0, 0, 0});
    cases.emplace_back("trailing bytes", c);
  }
  {
    std::pmr::vector<uint8_t> body;
    rpc::XdrWriter w(body);
    w.U32(1);
    w.String("host");
    w.U32(0);
    w.U32(0);
    w.U32(17);  // more than 16 groups
    for (int i = 0; i < 17; ++i) w.U32(static_cast<uint32_t>(i));
    cases.emplace_back("17 groups", Credential{1, Bytes(body.begin(), body.end())});
  }
  {
    std::pmr::vector<uint8_t> body;
    rpc::XdrWriter w(body);
    w.U32(1);
    w.String(std::string(256, 'h'));  // machine name over 255
    w.U32(0);
    w.U32(0);
    w.U32(0);
    cases.emplace_back("long machine name", Credential{1, Bytes(body.begin(), body.end())});
  }
  cases.emplace_back("empty", Credential{1, {}});
  cases.emplace_back("RPCSEC_GSS", Credential{6, Bytes(8, 0)});
  for (const auto& [name, credential] : cases) {
    for (uint32_t procedure : {kNull, kGetattr}) {
      SCOPED_TRACE(name + ", procedure " + std::to_string(procedure));
      auto reply = Call(*client, kNfsProgram, 3, procedure, GetattrArgs(Bytes(54, 1)), credential);
      ASSERT_TRUE(reply);
      EXPECT_EQ(reply->reply_stat, kMsgDenied);
      EXPECT_EQ(reply->reject_stat, kAuthError);
      EXPECT_EQ(reply->auth_stat, kAuthBadCred);
    }
  }
}

// Binds a connection to a free reserved port (root only).
std::unique_ptr<RawClient> ConnectFromReservedPort(uint16_t server_port) {
  std::mt19937 random(static_cast<uint32_t>(getpid()));
  for (int attempt = 0; attempt < 200; ++attempt) {
    const auto port = static_cast<uint16_t>(std::uniform_int_distribution<int>(600, 1023)(random));
    auto client = RawClient::Connect(server_port, port);
    if (client != nullptr) return client;
  }
  return nullptr;
}

TEST_F(RpcProtocolTest, SecureExportRefusesUnprivilegedPorts) {
  TestServerOptions options;
  options.insecure = false;
  Serve(options);
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  ASSERT_GE(client->local_port(), 1024);
  auto reply = Call(*client, kNfsProgram, 3, kNull);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->accept_stat, kSuccess) << "NULL needs no reserved port";
  reply = Call(*client, kNfsProgram, 3, kGetattr, GetattrArgs(Bytes(54, 1)));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->reply_stat, kMsgDenied);
  EXPECT_EQ(reply->reject_stat, kAuthError);
  EXPECT_EQ(reply->auth_stat, kAuthTooWeak);
  Args path;
  path.w().String("/");
  reply = Call(*client, kMountProgram, 3, kMnt, path.span());
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->reply_stat, kMsgDenied);

  if (geteuid() != 0) GTEST_SKIP() << "binding a reserved port needs root";
  auto privileged = ConnectFromReservedPort(server_->port());
  ASSERT_NE(privileged, nullptr) << "no free reserved port";
  ASSERT_LT(privileged->local_port(), 1024);
  const Bytes root = RootHandle(*privileged);
  ASSERT_FALSE(root.empty());
  reply = Call(*privileged, kNfsProgram, 3, kGetattr, GetattrArgs(root));
  ASSERT_TRUE(reply);
  ASSERT_EQ(reply->accept_stat, kSuccess);
  rpc::XdrReader r(reply->results);
  EXPECT_EQ(r.U32(), kNfs3Ok);
}

TEST_F(RpcProtocolTest, OnlyRootTheOwnerAndAllowedUidsMayCall) {
  TestServerOptions options;
  options.owner_uid = 1000;
  Serve(options);
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  const Bytes root = RootHandle(*client);  // as root
  ASSERT_FALSE(root.empty());
  auto reply = Call(*client, kNfsProgram, 3, kGetattr, GetattrArgs(root), AuthSys(4242, 4242));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->reply_stat, kMsgDenied);
  EXPECT_EQ(reply->reject_stat, kAuthError);
  reply = Call(*client, kNfsProgram, 3, kNull, {}, AuthSys(4242, 4242));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->accept_stat, kSuccess) << "NULL is for everyone";
  reply = Call(*client, kNfsProgram, 3, kGetattr, GetattrArgs(root), AuthSys(1000, 1000));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->accept_stat, kSuccess) << "the owner may";

  options.allowed_uids = {4242};
  Serve(options);
  client = Connect();
  ASSERT_NE(client, nullptr);
  reply = Call(*client, kNfsProgram, 3, kGetattr, GetattrArgs(root), AuthSys(4242, 4242));
  ASSERT_TRUE(reply);
  ASSERT_EQ(reply->reply_stat, kMsgAccepted);
  ASSERT_EQ(reply->accept_stat, kSuccess);
  rpc::XdrReader r(reply->results);
  EXPECT_EQ(r.U32(), kNfs3Ok) << "a handle survives a restart";
  reply = Call(*client, kNfsProgram, 3, kGetattr, GetattrArgs(root), AuthSys(4243, 4243));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->reply_stat, kMsgDenied);
}

// ---------------------------------------------------------------------------
// Pipelining.

TEST_F(RpcProtocolTest, PipelinedCallsAreAllAnswered) {
  Serve();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  const Bytes root = RootHandle(*client);
  ASSERT_FALSE(root.empty());
  Bytes stream;
  std::set<uint32_t> expected;
  for (uint32_t i = 0; i < 200; ++i) {
    const uint32_t xid = 5000 + i;
    expected.insert(xid);
    const Bytes call =
        RawClient::Frame(CallRecord(xid, kNfsProgram, 3, kGetattr, AuthSys(), GetattrArgs(root)));
    stream.insert(stream.end(), call.begin(), call.end());
  }
  ASSERT_TRUE(client->SendAll(stream));
  std::set<uint32_t> seen;
  for (int i = 0; i < 200; ++i) {
    auto reply = ReadReply(*client);
    ASSERT_TRUE(reply);
    EXPECT_TRUE(expected.contains(reply->xid)) << reply->xid;
    EXPECT_TRUE(seen.insert(reply->xid).second) << "twice: " << reply->xid;
    EXPECT_EQ(reply->accept_stat, kSuccess);
  }
  EXPECT_EQ(seen, expected);
  EXPECT_TRUE(client->Quiet(200));
}

// More calls than a connection keeps in flight, from a client that reads
// nothing until it has written everything.
TEST_F(RpcProtocolTest, PipelinedCallsPastTheInFlightBound) {
  Serve();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  const Bytes root = RootHandle(*client);
  ASSERT_FALSE(root.empty());
  Bytes stream;
  constexpr uint32_t kCalls = 1000;
  for (uint32_t i = 0; i < kCalls; ++i) {
    const Bytes call =
        RawClient::Frame(CallRecord(i, kNfsProgram, 3, kGetattr, AuthSys(), GetattrArgs(root)));
    stream.insert(stream.end(), call.begin(), call.end());
  }
  ASSERT_TRUE(client->SendAll(stream));
  std::set<uint32_t> seen;
  for (uint32_t i = 0; i < kCalls; ++i) {
    auto reply = ReadReply(*client);
    ASSERT_TRUE(reply);
    seen.insert(reply->xid);
  }
  EXPECT_EQ(seen.size(), kCalls);
}

TEST_F(RpcProtocolTest, RepliesMayOvertakeASlowWrite) {
  Serve();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  const Bytes root = RootHandle(*client);
  const Bytes file = CreateFile(*client, root, "slow.bin");
  ASSERT_FALSE(file.empty());
  const Bytes data(1 << 20, 0x5a);
  Bytes stream =
      RawClient::Frame(CallRecord(1, kNfsProgram, 3, kWrite, AuthSys(), WriteArgs(file, 0, data)));
  std::set<uint32_t> expected = {1};
  for (uint32_t xid = 2; xid < 52; ++xid) {
    expected.insert(xid);
    const Bytes call =
        RawClient::Frame(CallRecord(xid, kNfsProgram, 3, kGetattr, AuthSys(), GetattrArgs(root)));
    stream.insert(stream.end(), call.begin(), call.end());
  }
  ASSERT_TRUE(client->SendAll(stream));
  std::set<uint32_t> seen;
  for (size_t i = 0; i < expected.size(); ++i) {
    auto reply = ReadReply(*client);
    ASSERT_TRUE(reply);
    EXPECT_TRUE(seen.insert(reply->xid).second) << "twice: " << reply->xid;
    ASSERT_EQ(reply->accept_stat, kSuccess);
    rpc::XdrReader r(reply->results);
    EXPECT_EQ(r.U32(), kNfs3Ok) << "xid " << reply->xid;
  }
  EXPECT_EQ(seen, expected);
}

// ---------------------------------------------------------------------------
// The duplicate-request cache.

TEST_F(RpcProtocolTest, RetransmittedRemoveIsReplayed) {
  Serve();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  const Bytes root = RootHandle(*client);
  ASSERT_FALSE(CreateFile(*client, root, "victim").empty());

  Args args;
  args.w().Opaque(root);
  args.w().String("victim");
  const Bytes remove = CallRecord(777, kNfsProgram, 3, kRemove, AuthSys(), args.span());
  ASSERT_TRUE(client->SendRecord(remove));
  auto first = ReadReply(*client);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->accept_stat, kSuccess);
  EXPECT_EQ(rpc::XdrReader(first->results).U32(), kNfs3Ok);

  // The same call again on the same connection, then after a reconnect.
  ASSERT_TRUE(client->SendRecord(remove));
  auto again = ReadReply(*client);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->raw, first->raw) << "a replay, not a second REMOVE";
  client = Connect();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->SendRecord(remove));
  again = ReadReply(*client);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->raw, first->raw);

  // A new call (another xid) does run again.
  auto fresh = Call(*client, kNfsProgram, 3, kRemove, args.span());
  ASSERT_TRUE(fresh);
  ASSERT_EQ(fresh->accept_stat, kSuccess);
  EXPECT_EQ(rpc::XdrReader(fresh->results).U32(), kNfs3ErrNoEnt);
}

TEST_F(RpcProtocolTest, RetransmittedGuardedCreateIsReplayed) {
  Serve();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  const Bytes root = RootHandle(*client);
  Args args;
  args.w().Opaque(root);
  args.w().String("guarded");
  args.w().U32(1);  // GUARDED
  EmptySattr(args.w());
  const Bytes create = CallRecord(888, kNfsProgram, 3, kCreate, AuthSys(), args.span());
  ASSERT_TRUE(client->SendRecord(create));
  auto first = ReadReply(*client);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->accept_stat, kSuccess);
  EXPECT_EQ(rpc::XdrReader(first->results).U32(), kNfs3Ok);

  client = Connect();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->SendRecord(create));
  auto again = ReadReply(*client);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->raw, first->raw) << "a replay, not EXIST";

  auto fresh = Call(*client, kNfsProgram, 3, kCreate, args.span());
  ASSERT_TRUE(fresh);
  ASSERT_EQ(fresh->accept_stat, kSuccess);
  EXPECT_EQ(rpc::XdrReader(fresh->results).U32(), kNfs3ErrExist);
}

// A retransmission that arrives while the first copy still runs is
// dropped (the first reply answers both) or, if the first has finished by
// then, replayed: either way the client never sees a second execution.
TEST_F(RpcProtocolTest, RetransmissionWhileTheFirstRuns) {
  Serve();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  const Bytes root = RootHandle(*client);
  ASSERT_FALSE(CreateFile(*client, root, "twice").empty());
  Args args;
  args.w().Opaque(root);
  args.w().String("twice");
  const Bytes remove =
      RawClient::Frame(CallRecord(55, kNfsProgram, 3, kRemove, AuthSys(), args.span()));
  Bytes stream = remove;
  stream.insert(stream.end(), remove.begin(), remove.end());
  ASSERT_TRUE(client->SendAll(stream));
  auto first = ReadReply(*client);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->accept_stat, kSuccess);
  EXPECT_EQ(rpc::XdrReader(first->results).U32(), kNfs3Ok);
  Bytes record;
  if (client->ReadRecord(&record, nullptr, 500)) {
    EXPECT_EQ(record, first->raw) << "a second execution";
  }
}

// Same xid, different arguments: another call, not a replay.
TEST_F(RpcProtocolTest, SameXidOtherArgumentsIsAnotherCall) {
  Serve();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  const Bytes root = RootHandle(*client);
  ASSERT_FALSE(CreateFile(*client, root, "one").empty());
  for (const char* name : {"one", "two"}) {
    Args args;
    args.w().Opaque(root);
    args.w().String(name);
    ASSERT_TRUE(
        client->SendRecord(CallRecord(31, kNfsProgram, 3, kRemove, AuthSys(), args.span())));
    auto reply = ReadReply(*client);
    ASSERT_TRUE(reply);
    ASSERT_EQ(reply->accept_stat, kSuccess);
    EXPECT_EQ(rpc::XdrReader(reply->results).U32(),
              std::string(name) == "one" ? kNfs3Ok : kNfs3ErrNoEnt)
        << name;
  }
}

}  // namespace
}  // namespace vaultnfs::testing
