#include "rpc/record.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace rpc {
namespace {

std::vector<uint8_t> Fragment(const std::vector<uint8_t>& body, bool last) {
  std::vector<uint8_t> out(4 + body.size());
  EncodeRecordMark(static_cast<uint32_t>(body.size()), out.data());
  if (!last) out[0] &= 0x7f;
  std::copy(body.begin(), body.end(), out.begin() + 4);
  return out;
}

TEST(RecordTest, SingleFragmentRecord) {
  RecordAssembler a(1024);
  const auto wire = Fragment({1, 2, 3}, true);
  size_t used = 0;
  ASSERT_EQ(a.Feed(wire, &used), RecordAssembler::State::kRecordReady);
  EXPECT_EQ(used, wire.size());
  EXPECT_EQ(std::vector<uint8_t>(a.record().begin(), a.record().end()),
            (std::vector<uint8_t>{1, 2, 3}));
}

TEST(RecordTest, ReassemblesFragmentsFedOneByteAtATime) {
  RecordAssembler a(1024);
  std::vector<uint8_t> wire = Fragment({1, 2}, false);
  const auto second = Fragment({3}, false);
  const auto third = Fragment({4, 5, 6, 7, 8}, true);
  wire.insert(wire.end(), second.begin(), second.end());
  wire.insert(wire.end(), third.begin(), third.end());
  RecordAssembler::State state = RecordAssembler::State::kNeedMore;
  for (size_t i = 0; i < wire.size(); ++i) {
    size_t used = 0;
    state = a.Feed(std::span(wire).subspan(i, 1), &used);
    EXPECT_EQ(used, 1u);
  }
  ASSERT_EQ(state, RecordAssembler::State::kRecordReady);
  EXPECT_EQ(a.record().size(), 8u);
  EXPECT_EQ(a.record()[7], 8);
}

TEST(RecordTest, StopsAtTheEndOfARecordAndContinuesWithTheNext) {
  RecordAssembler a(1024);
  std::vector<uint8_t> wire = Fragment({9}, true);
  const auto next = Fragment({7, 7}, true);
  wire.insert(wire.end(), next.begin(), next.end());
  size_t used = 0;
  ASSERT_EQ(a.Feed(wire, &used), RecordAssembler::State::kRecordReady);
  EXPECT_EQ(used, 5u);
  a.NextRecord();
  size_t used2 = 0;
  ASSERT_EQ(a.Feed(std::span(wire).subspan(used), &used2), RecordAssembler::State::kRecordReady);
  EXPECT_EQ(a.record().size(), 2u);
}

TEST(RecordTest, ReceivesTheRestOfAFragmentStraightIntoTheRecord) {
  RecordAssembler a(1024);
  std::vector<uint8_t> body(100);
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<uint8_t>(i);
  std::vector<uint8_t> wire = Fragment({body.begin(), body.begin() + 40}, false);
  const auto last = Fragment({body.begin() + 40, body.end()}, true);
  wire.insert(wire.end(), last.begin(), last.begin() + 14);  // its header and 10 bytes
  size_t used = 0;
  ASSERT_EQ(a.Feed(wire, &used), RecordAssembler::State::kNeedMore);
  ASSERT_EQ(a.fragment_left(), 50u);

  // Part of the room arrives, then the rest in a second room.
  std::span<uint8_t> room = a.FragmentRoom();
  ASSERT_EQ(room.size(), 50u);
  std::copy_n(body.begin() + 50, 20, room.begin());
  ASSERT_EQ(a.Received(20), RecordAssembler::State::kNeedMore);
  EXPECT_EQ(a.fragment_left(), 30u);
  room = a.FragmentRoom();
  ASSERT_EQ(room.size(), 30u);
  std::copy_n(body.begin() + 70, 30, room.begin());
  ASSERT_EQ(a.Received(30), RecordAssembler::State::kRecordReady);
  EXPECT_EQ(a.fragment_left(), 0u);
  EXPECT_TRUE(std::ranges::equal(a.TakeRecord(), body));
}

TEST(RecordTest, RefusesARecordLargerThanTheLimitBeforeBufferingIt) {
  RecordAssembler a(100);
  std::vector<uint8_t> header(4);
  EncodeRecordMark(0x7fffffff, header.data());
  size_t used = 0;
  EXPECT_EQ(a.Feed(header, &used), RecordAssembler::State::kTooLarge);
}

TEST(RecordTest, CountsEveryFragmentAgainstTheLimit) {
  RecordAssembler a(10);
  std::vector<uint8_t> wire = Fragment(std::vector<uint8_t>(8), false);
  const auto more = Fragment(std::vector<uint8_t>(8), true);
  wire.insert(wire.end(), more.begin(), more.end());
  size_t used = 0;
  EXPECT_EQ(a.Feed(wire, &used), RecordAssembler::State::kTooLarge);
}

TEST(RecordTest, SurvivesRandomStreams) {
  std::mt19937 rng(99);
  for (int round = 0; round < 2000; ++round) {
    RecordAssembler a(4096);
    std::vector<uint8_t> data(rng() % 200);
    for (auto& b : data) b = static_cast<uint8_t>(rng());
    size_t pos = 0;
    while (pos < data.size()) {
      size_t used = 0;
      const auto state = a.Feed(std::span(data).subspan(pos), &used);
      pos += used;
      if (state == RecordAssembler::State::kTooLarge) break;
      if (state == RecordAssembler::State::kRecordReady) a.NextRecord();
    }
  }
}

}  // namespace
}  // namespace rpc
