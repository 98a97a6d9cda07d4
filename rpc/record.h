// ONC RPC record marking over TCP (RFC 5531 §11): a record is one or more
// fragments, each preceded by a 4-byte big-endian header whose top bit marks
// the last fragment and whose low 31 bits give the fragment length.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace rpc {

// Leaves the bytes a vector grows by uninitialised: a record's room is
// always received into before it is read, and zeroing 1 MiB for every
// WRITE first cost 5 % of the server's time.
template <typename T>
struct UninitializedAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = UninitializedAllocator<U>;
  };
  UninitializedAllocator() = default;
  template <typename U>
  explicit UninitializedAllocator(const UninitializedAllocator<U>& /*other*/) {}

  template <typename U>
  void construct(U* p) {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    std::construct_at(p, std::forward<Args>(args)...);
  }
};

using RecordBytes = std::vector<uint8_t, UninitializedAllocator<uint8_t>>;

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

  // Bytes of the current fragment still to come; 0 between fragments.
  size_t fragment_left() const { return in_fragment_ ? fragment_left_ : 0; }
  // Room at the end of the record for the rest of the current fragment,
  // to receive into directly (a 1 MiB WRITE then needs no copy and no
  // trips through a small read buffer). Hand what arrived to Received(),
  // before any other call.
  std::span<uint8_t> FragmentRoom();
  // The first `n` bytes of FragmentRoom() arrived; the rest of the room is
  // given up (a later FragmentRoom() offers it again).
  State Received(size_t n);

  std::span<const uint8_t> record() const { return record_; }
  void NextRecord();
  // Hands the complete record over (instead of record() + NextRecord()),
  // so a call can keep its bytes while the next record is assembled.
  RecordBytes TakeRecord();

 private:
  void EndFragment();

  const size_t max_record_size_;
  RecordBytes record_;
  uint8_t header_[4] = {};
  size_t header_have_ = 0;
  size_t fragment_left_ = 0;
  size_t room_at_ = 0;  // where FragmentRoom() began
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
