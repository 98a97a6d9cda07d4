// ONC RPC record marking over TCP (RFC 5531 §11): a record is one or more
// fragments, each preceded by a 4-byte big-endian header whose top bit marks
// the last fragment and whose low 31 bits give the fragment length.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace rpc {

// Reassembles records from a byte stream of arbitrary chunking. The record
// size is bounded: a peer that announces more is cut off (kTooLarge) before
// any of it is buffered.
class RecordAssembler {
 public:
  enum class State { kNeedMore, kRecordReady, kTooLarge };

  explicit RecordAssembler(size_t max_record_size) : max_record_size_(max_record_size) {}

  // Consumes bytes from `input` until a record is complete or the input is
  // used up; `*consumed` says how many bytes were taken. After kRecordReady
  // the caller takes record() and calls NextRecord() before feeding more.
  State Feed(std::span<const uint8_t> input, size_t* consumed);

  std::span<const uint8_t> record() const { return record_; }
  void NextRecord();
  // Hands the complete record over (instead of record() + NextRecord()),
  // so a call can keep its bytes while the next record is assembled.
  std::vector<uint8_t> TakeRecord();

 private:
  const size_t max_record_size_;
  std::vector<uint8_t> record_;
  uint8_t header_[4] = {};
  size_t header_have_ = 0;
  size_t fragment_left_ = 0;
  bool in_fragment_ = false;
  bool last_fragment_ = false;
  bool ready_ = false;
};

// The 4-byte header of a single-fragment record of `length` bytes.
inline void EncodeRecordMark(uint32_t length, uint8_t out[4]) {
  length |= 0x80000000u;
  out[0] = static_cast<uint8_t>(length >> 24);
  out[1] = static_cast<uint8_t>(length >> 16);
  out[2] = static_cast<uint8_t>(length >> 8);
  out[3] = static_cast<uint8_t>(length);
}

}  // namespace rpc
