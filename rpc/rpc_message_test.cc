#include "rpc/rpc_message.h"

#include <gtest/gtest.h>

#include <random>

namespace rpc {
namespace {

std::pmr::vector<uint8_t> Call(uint32_t rpc_version, std::span<const uint8_t> cred_body,
                               uint32_t flavor = kAuthSys) {
  std::pmr::vector<uint8_t> buf;
  XdrWriter w(buf);
  w.U32(0x1234);  // xid
  w.U32(0);       // CALL
  w.U32(rpc_version);
  w.U32(100003);  // NFS
  w.U32(3);
  w.U32(1);  // GETATTR
  w.U32(flavor);
  w.Opaque(cred_body);
  w.U32(kAuthNone);
  w.U32(0);
  return buf;
}

std::pmr::vector<uint8_t> AuthSysBody(uint32_t gid_count) {
  std::pmr::vector<uint8_t> buf;
  XdrWriter w(buf);
  w.U32(1);  // stamp
  w.String("client");
  w.U32(1000);
  w.U32(100);
  w.U32(gid_count);
  for (uint32_t i = 0; i < gid_count; ++i) w.U32(i);
  return buf;
}

TEST(RpcMessageTest, DecodesACallWithAuthSys) {
  const auto body = AuthSysBody(2);
  const auto wire = Call(2, body);
  XdrReader r(wire);
  CallHeader call;
  ASSERT_EQ(DecodeCallHeader(r, &call), CallDecode::kOk);
  EXPECT_EQ(call.xid, 0x1234u);
  EXPECT_EQ(call.program, 100003u);
  EXPECT_EQ(call.version, 3u);
  EXPECT_EQ(call.procedure, 1u);
  ASSERT_EQ(call.credential.flavor, kAuthSys);
  auto auth = DecodeAuthSys(call.credential.body);
  ASSERT_TRUE(auth.has_value());
  EXPECT_EQ(auth->uid, 1000u);
  EXPECT_EQ(auth->gid, 100u);
  EXPECT_EQ(auth->machine_name, "client");
  EXPECT_EQ(auth->gid_count, 2u);
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(RpcMessageTest, ReportsAWrongRpcVersion) {
  const auto wire = Call(3, {});
  XdrReader r(wire);
  CallHeader call;
  EXPECT_EQ(DecodeCallHeader(r, &call), CallDecode::kRpcMismatch);
}

TEST(RpcMessageTest, RefusesTooManyGroups) {
  const auto body = AuthSysBody(17);
  EXPECT_FALSE(DecodeAuthSys(body).has_value());
}

TEST(RpcMessageTest, RefusesTrailingBytesInAuthSys) {
  auto body = AuthSysBody(0);
  body.push_back(0);
  body.push_back(0);
  body.push_back(0);
  body.push_back(0);
  EXPECT_FALSE(DecodeAuthSys(body).has_value());
}

TEST(RpcMessageTest, EncodesAnAuthErrorReply) {
  std::pmr::vector<uint8_t> buf;
  XdrWriter w(buf);
  EncodeAuthErrorReply(w, 7, AuthStat::kTooWeak);
  XdrReader r(buf);
  EXPECT_EQ(r.U32(), 7u);  // xid
  EXPECT_EQ(r.U32(), 1u);  // REPLY
  EXPECT_EQ(r.U32(), 1u);  // MSG_DENIED
  EXPECT_EQ(r.U32(), 1u);  // AUTH_ERROR
  EXPECT_EQ(r.U32(), 5u);  // AUTH_TOOWEAK
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(RpcMessageTest, EncodesAProgramMismatchReply) {
  std::pmr::vector<uint8_t> buf;
  XdrWriter w(buf);
  EncodeAcceptedReply(w, 9, AcceptStat::kProgMismatch);
  EncodeMismatchInfo(w, 3, 3);
  XdrReader r(buf);
  EXPECT_EQ(r.U32(), 9u);
  EXPECT_EQ(r.U32(), 1u);  // REPLY
  EXPECT_EQ(r.U32(), 0u);  // MSG_ACCEPTED
  EXPECT_EQ(r.U32(), 0u);  // verifier flavor
  EXPECT_EQ(r.U32(), 0u);  // verifier length
  EXPECT_EQ(r.U32(), 2u);  // PROG_MISMATCH
  EXPECT_EQ(r.U32(), 3u);
  EXPECT_EQ(r.U32(), 3u);
}

// Truncations and bit flips of a valid call must decode or fail cleanly.
TEST(RpcMessageTest, SurvivesMutatedCalls) {
  const auto body = AuthSysBody(3);
  const auto wire = Call(2, body);
  std::mt19937 rng(7);
  for (int round = 0; round < 20000; ++round) {
    std::vector<uint8_t> data(wire.begin(), wire.begin() + rng() % (wire.size() + 1));
    for (int flips = rng() % 4; flips > 0 && !data.empty(); --flips) {
      data[rng() % data.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
    }
    XdrReader r(data);
    CallHeader call;
    if (DecodeCallHeader(r, &call) == CallDecode::kOk && call.credential.flavor == kAuthSys) {
      (void)DecodeAuthSys(call.credential.body);
    }
  }
}

}  // namespace
}  // namespace rpc
