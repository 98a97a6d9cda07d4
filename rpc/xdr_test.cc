#include "rpc/xdr.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace rpc {
namespace {

TEST(XdrTest, RoundTripsEveryType) {
  std::pmr::vector<uint8_t> buf;
  XdrWriter w(buf);
  w.U32(0xdeadbeef);
  w.I32(-2);
  w.U64(0x0123456789abcdefull);
  w.Bool(true);
  w.String("hello");
  const uint8_t fixed[3] = {1, 2, 3};
  w.FixedOpaque(fixed);
  ASSERT_EQ(buf.size(), 4 + 4 + 8 + 4 + (4 + 8) + 4u);

  XdrReader r(buf);
  EXPECT_EQ(r.U32(), 0xdeadbeefu);
  EXPECT_EQ(r.I32(), -2);
  EXPECT_EQ(r.U64(), 0x0123456789abcdefull);
  EXPECT_TRUE(r.Bool());
  EXPECT_EQ(r.String(255), "hello");
  auto f = r.FixedOpaque(3);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[2], 3);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(XdrTest, PadsOpaqueWithZeros) {
  std::pmr::vector<uint8_t> buf;
  XdrWriter w(buf);
  w.String("a");
  EXPECT_EQ(buf, (std::pmr::vector<uint8_t>{0, 0, 0, 1, 'a', 0, 0, 0}));
}

// A cursor writes the bytes the writer would, into space appended once,
// and zeroes the padding whatever the space held before.
TEST(XdrTest, ACursorWritesWhatTheWriterWrites) {
  const uint8_t fixed[3] = {1, 2, 3};
  auto encode = [&](auto& out) {
    out.U32(0xdeadbeef);
    out.U64(0x0123456789abcdefull);
    out.Bool(true);
    out.String("hello");
    out.Opaque(fixed);
    out.FixedOpaque(fixed);
  };
  std::pmr::vector<uint8_t> expected;
  XdrWriter writer(expected);
  encode(writer);

  std::pmr::vector<uint8_t> buf = {9, 9};
  XdrWriter w(buf);
  std::span<uint8_t> space = w.Append(expected.size());
  std::fill(space.begin(), space.end(), uint8_t{0xff});
  XdrCursor cursor(space);
  encode(cursor);
  EXPECT_EQ(cursor.written(), expected.size());
  ASSERT_EQ(buf.size(), 2 + expected.size());
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), buf.begin() + 2));
}

TEST(XdrTest, ShortInputFailsAndStaysFailed) {
  const uint8_t two[2] = {0, 1};
  XdrReader r(two);
  EXPECT_EQ(r.U32(), 0u);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.U32(), 0u);
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(XdrTest, OpaqueLongerThanItsBoundFails) {
  std::pmr::vector<uint8_t> buf;
  XdrWriter w(buf);
  w.String("toolong");
  XdrReader r(buf);
  EXPECT_TRUE(r.String(3).empty());
  EXPECT_FALSE(r.ok());
}

TEST(XdrTest, OpaqueLengthBeyondTheBufferFails) {
  const uint8_t lying[8] = {0x7f, 0xff, 0xff, 0xff, 'a', 'b', 'c', 'd'};
  XdrReader r(lying);
  EXPECT_TRUE(r.Opaque(0xffffffffu).empty());
  EXPECT_FALSE(r.ok());
}

TEST(XdrTest, BooleanOtherThanZeroOrOneFails) {
  const uint8_t two[4] = {0, 0, 0, 2};
  XdrReader r(two);
  r.Bool();
  EXPECT_FALSE(r.ok());
}

TEST(XdrTest, PatchesAReservedLength) {
  std::pmr::vector<uint8_t> buf;
  XdrWriter w(buf);
  const size_t at = w.Reserve(4);
  w.U32(7);
  w.PatchU32(at, 42);
  XdrReader r(buf);
  EXPECT_EQ(r.U32(), 42u);
  EXPECT_EQ(r.U32(), 7u);
}

// Random bytes must never make the reader read out of bounds (ASan checks).
TEST(XdrTest, SurvivesRandomInput) {
  std::mt19937 rng(1234);
  for (int round = 0; round < 20000; ++round) {
    std::vector<uint8_t> data(rng() % 64);
    for (auto& b : data) b = static_cast<uint8_t>(rng());
    XdrReader r(data);
    while (r.ok() && r.remaining() > 0) {
      switch (rng() % 4) {
        case 0:
          r.U32();
          break;
        case 1:
          r.U64();
          break;
        case 2:
          r.Opaque(rng() % 100);
          break;
        default:
          r.FixedOpaque(rng() % 20);
          break;
      }
    }
  }
}

}  // namespace
}  // namespace rpc
