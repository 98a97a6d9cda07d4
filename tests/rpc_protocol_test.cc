// The RPC layer as a hostile or unusual client sees it, over raw TCP
// sockets against an in-process server: record marking (fragments, the
// size limit), malformed calls and arguments, and the accept and reject
// statuses of RFC 5531. rpc_policy_test.cc covers who may call, pipelining
// and the duplicate-request cache.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <set>
#include <vector>

#include "rpc/xdr.h"
#include "tests/rpc_wire_client.h"

namespace vaultnfs::testing::rpc_wire {
namespace {

using RpcProtocolTest = RpcWireTest;

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

}  // namespace
}  // namespace vaultnfs::testing::rpc_wire
