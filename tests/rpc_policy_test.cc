// The server's policy as raw RPC clients meet it: credentials, reserved
// source ports and allowed uids; many calls in flight on one connection
// and replies out of order; the duplicate-request cache replaying
// retransmitted non-idempotent calls.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <set>
#include <span>
#include <vector>

#include "rpc/xdr.h"
#include "server/procedures.h"
#include "tests/rpc_wire_client.h"

namespace vaultnfs::testing::rpc_wire {
namespace {

using RpcPolicyTest = RpcWireTest;

// Appends one framed NFSv3 call (AUTH_SYS) to a stream sent all at once.
void AppendCall(Bytes& stream, uint32_t xid, uint32_t procedure, std::span<const uint8_t> args) {
  const Bytes call = RawClient::Frame(CallRecord(xid, kNfsProgram, 3, procedure, AuthSys(), args));
  stream.insert(stream.end(), call.begin(), call.end());
}

// ---------------------------------------------------------------------------
// Security policy.

TEST_F(RpcPolicyTest, AuthNoneIsOnlyForNull) {
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

TEST_F(RpcPolicyTest, MalformedAuthSysIsBadCred) {
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

TEST_F(RpcPolicyTest, SecureExportRefusesUnprivilegedPorts) {
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

TEST_F(RpcPolicyTest, OnlyRootTheOwnerAndAllowedUidsMayCall) {
  TestServerOptions options;
  options.owner_uid = 1000;
  Serve(options);
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  const Bytes root = RootHandle(*client);  // as root
  ASSERT_FALSE(root.empty());
  // Every NFS call of another uid fails with ACCES and nothing else: a
  // status and absent attributes (one flag per post_op_attr, two per
  // wcc_data), whatever the arguments.
  const std::vector<std::pair<uint32_t, size_t>> procedures = {
      {kGetattr, 0}, {2, 2}, {4, 1}, {kRead, 1}, {kWrite, 2}, {14, 4}, {15, 3}, {17, 1}, {21, 2}};
  for (const auto& [procedure, absent_flags] : procedures) {
    auto reply = Call(*client, kNfsProgram, 3, procedure, GetattrArgs(root), AuthSys(4242, 4242));
    ASSERT_TRUE(reply);
    ASSERT_EQ(reply->reply_stat, kMsgAccepted) << "procedure " << procedure;
    ASSERT_EQ(reply->accept_stat, kSuccess);
    rpc::XdrReader r(reply->results);
    EXPECT_EQ(r.U32(), kNfs3ErrAcces) << "procedure " << procedure;
    for (size_t i = 0; i < absent_flags; ++i) EXPECT_EQ(r.U32(), 0u);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.remaining(), 0u) << "procedure " << procedure;
  }
  // MOUNT has no such status: refused at the RPC level.
  Args path;
  path.w().String("/");
  auto reply = Call(*client, kMountProgram, 3, kMnt, path.span(), AuthSys(4242, 4242));
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
  ASSERT_EQ(reply->accept_stat, kSuccess);
  rpc::XdrReader denied(reply->results);
  EXPECT_EQ(denied.U32(), kNfs3ErrAcces);
}

// ---------------------------------------------------------------------------
// Pipelining.

TEST_F(RpcPolicyTest, PipelinedCallsAreAllAnswered) {
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
    AppendCall(stream, xid, kGetattr, GetattrArgs(root));
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
TEST_F(RpcPolicyTest, PipelinedCallsPastTheInFlightBound) {
  Serve();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  const Bytes root = RootHandle(*client);
  ASSERT_FALSE(root.empty());
  Bytes stream;
  constexpr uint32_t kCalls = 1000;
  for (uint32_t i = 0; i < kCalls; ++i) {
    AppendCall(stream, i, kGetattr, GetattrArgs(root));
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

// A connection counts a READ's reply against its in-flight bound from the
// moment the call is read, by ReadReplyBound: every reply must fit it.
TEST_F(RpcPolicyTest, ReadRepliesFitTheBoundCountedForThem) {
  Serve();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  const Bytes root = RootHandle(*client);
  const Bytes file = CreateFile(*client, root, "bounded.bin");
  ASSERT_FALSE(file.empty());
  constexpr size_t kMiB = 1 << 20;
  for (uint64_t offset : {uint64_t{0}, uint64_t{kMiB}}) {
    auto written = Call(*client, kNfsProgram, 3, kWrite, WriteArgs(file, offset, Bytes(kMiB, 7)));
    ASSERT_TRUE(written && written->accept_stat == kSuccess);
  }
  struct Case {
    Bytes handle;
    uint64_t offset;
    uint32_t count;
  };
  const Bytes forged(file.size(), 0xee);
  for (const Case& c :
       {Case{file, 0, 0}, Case{file, 0, 4096}, Case{file, 0, kMiB}, Case{file, 0, 4 * kMiB},
        Case{file, kMiB + 100, kMiB}, Case{file, 3 * kMiB, kMiB}, Case{forged, 0, kMiB}}) {
    SCOPED_TRACE("offset " + std::to_string(c.offset) + " count " + std::to_string(c.count));
    Args args;
    args.w().Opaque(c.handle);
    args.w().U64(c.offset);
    args.w().U32(c.count);
    const size_t bound = server::nfs3::ReadReplyBound(rpc::XdrReader(args.span()));
    auto reply = Call(*client, kNfsProgram, 3, kRead, args.span());
    ASSERT_TRUE(reply && reply->accept_stat == kSuccess);
    EXPECT_LE(reply->raw.size(), bound);
    if (c.handle == file && c.offset == 0) {  // a full reply: the bound is close
      EXPECT_GE(reply->raw.size() + 256, bound);
    }
  }
  const Bytes truncated = {0, 0, 0, 8, 1, 2};
  EXPECT_EQ(server::nfs3::ReadReplyBound(rpc::XdrReader(truncated)), 0u);
}

// The bytes in flight are bounded over all connections. A client that
// stops reading its 1 MiB replies holds the whole bound; another client
// must still get every reply, one call at a time if need be.
TEST_F(RpcPolicyTest, AClientThatStopsReadingDoesNotStallAnother) {
  Serve();
  auto stuck = Connect();
  auto other = Connect();
  ASSERT_NE(stuck, nullptr);
  ASSERT_NE(other, nullptr);
  const Bytes root = RootHandle(*other);
  const Bytes file = CreateFile(*other, root, "big.bin");
  ASSERT_FALSE(file.empty());
  constexpr uint32_t kMiB = 1 << 20;
  auto written = Call(*other, kNfsProgram, 3, kWrite, WriteArgs(file, 0, Bytes(kMiB, 3)));
  ASSERT_TRUE(written && written->accept_stat == kSuccess);

  // 64 MiB of replies: more than the bound and both sockets' buffers.
  constexpr uint32_t kCalls = 64;
  auto reads = [&](uint32_t first_xid) {
    Args args;
    args.w().Opaque(file);
    args.w().U64(0);
    args.w().U32(kMiB);
    Bytes stream;
    for (uint32_t xid = first_xid; xid < first_xid + kCalls; ++xid) {
      AppendCall(stream, xid, kRead, args.span());
    }
    return stream;
  };
  ASSERT_TRUE(stuck->SendAll(reads(1000)));
  ASSERT_TRUE(other->SendAll(reads(2000)));
  for (auto* client : {other.get(), stuck.get()}) {
    for (uint32_t i = 0; i < kCalls; ++i) {
      auto reply = ReadReply(*client);
      ASSERT_TRUE(reply);
      ASSERT_EQ(reply->accept_stat, kSuccess);
      rpc::XdrReader r(reply->results);
      ASSERT_EQ(r.U32(), kNfs3Ok);
    }
  }
}

// Clients that leave in the middle of their 1 MiB READ replies, again and
// again, must neither upset the server nor let the rest of a reply reach
// the next connection (which may get the same descriptor).
TEST_F(RpcPolicyTest, ClientsThatLeaveMidReplyLeaveTheNextOneItsOwnReplies) {
  Serve();
  auto setup = Connect();
  ASSERT_NE(setup, nullptr);
  const Bytes root = RootHandle(*setup);
  const Bytes file = CreateFile(*setup, root, "left.bin");
  ASSERT_FALSE(file.empty());
  constexpr uint32_t kMiB = 1 << 20;
  auto written = Call(*setup, kNfsProgram, 3, kWrite, WriteArgs(file, 0, Bytes(kMiB, 5)));
  ASSERT_TRUE(written && written->accept_stat == kSuccess);
  Args read_args;
  read_args.w().Opaque(file);
  read_args.w().U64(0);
  read_args.w().U32(kMiB);

  for (uint32_t round = 0; round < 20; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    {
      auto leaving = Connect();
      ASSERT_NE(leaving, nullptr);
      Bytes stream;
      for (uint32_t xid = 100; xid < 116; ++xid) AppendCall(stream, xid, kRead, read_args.span());
      ASSERT_TRUE(leaving->SendAll(stream));
      if (round % 2 == 1) {  // leave after the first reply, or at once
        ASSERT_TRUE(ReadReply(*leaving));
      }
    }
    auto next = Connect();
    ASSERT_NE(next, nullptr);
    Bytes stream;
    std::set<uint32_t> expected;
    for (uint32_t xid = 7000; xid < 7008; ++xid) {
      const bool read = xid % 4 == 0;
      if (read) {
        AppendCall(stream, xid, kRead, read_args.span());
      } else {
        AppendCall(stream, xid, kGetattr, GetattrArgs(file));
      }
      expected.insert(xid);
    }
    ASSERT_TRUE(next->SendAll(stream));
    std::set<uint32_t> seen;
    for (size_t i = 0; i < expected.size(); ++i) {
      auto reply = ReadReply(*next);
      ASSERT_TRUE(reply);
      ASSERT_TRUE(expected.contains(reply->xid)) << "a reply not ours: xid " << reply->xid;
      ASSERT_TRUE(seen.insert(reply->xid).second) << "twice: " << reply->xid;
      ASSERT_EQ(reply->accept_stat, kSuccess);
      rpc::XdrReader r(reply->results);
      ASSERT_EQ(r.U32(), kNfs3Ok);
      if (reply->xid % 4 == 0) {  // a READ: its data is the file's
        SkipPostOpAttr(r);
        EXPECT_EQ(r.U32(), kMiB);  // count
        r.Bool();                  // eof
        const auto data = r.Opaque(kMiB);
        ASSERT_TRUE(r.ok());
        EXPECT_EQ(data.size(), kMiB);
        EXPECT_TRUE(std::all_of(data.begin(), data.end(), [](uint8_t b) { return b == 5; }));
      }
    }
    EXPECT_TRUE(next->Quiet(50));
  }
}

TEST_F(RpcPolicyTest, RepliesMayOvertakeASlowWrite) {
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
    AppendCall(stream, xid, kGetattr, GetattrArgs(root));
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

TEST_F(RpcPolicyTest, RetransmittedRemoveIsReplayed) {
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

TEST_F(RpcPolicyTest, RetransmittedGuardedCreateIsReplayed) {
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
TEST_F(RpcPolicyTest, RetransmissionWhileTheFirstRuns) {
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
TEST_F(RpcPolicyTest, SameXidOtherArgumentsIsAnotherCall) {
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
}  // namespace vaultnfs::testing::rpc_wire
