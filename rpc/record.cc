#include "rpc/record.h"

#include <algorithm>

namespace rpc {

RecordAssembler::State RecordAssembler::Feed(std::span<const uint8_t> input, size_t* consumed) {
  size_t pos = 0;
  while (!ready_) {
    if (!in_fragment_) {
      while (header_have_ < 4 && pos < input.size()) header_[header_have_++] = input[pos++];
      if (header_have_ < 4) break;
      const uint32_t mark = uint32_t{header_[0]} << 24 | uint32_t{header_[1]} << 16 |
                            uint32_t{header_[2]} << 8 | header_[3];
      header_have_ = 0;
      last_fragment_ = (mark & 0x80000000u) != 0;
      fragment_left_ = mark & 0x7fffffffu;
      if (fragment_left_ > max_record_size_ - std::min(max_record_size_, record_.size())) {
        *consumed = pos;
        return State::kTooLarge;
      }
      in_fragment_ = true;
      record_.reserve(record_.size() + fragment_left_);
    }
    const size_t take = std::min(fragment_left_, input.size() - pos);
    record_.insert(record_.end(), input.begin() + pos, input.begin() + pos + take);
    pos += take;
    fragment_left_ -= take;
    if (fragment_left_ > 0) break;  // input used up mid-fragment
    EndFragment();
  }
  *consumed = pos;
  return ready_ ? State::kRecordReady : State::kNeedMore;
}

std::span<uint8_t> RecordAssembler::FragmentRoom() {
  room_at_ = record_.size();
  record_.resize(room_at_ + fragment_left());
  return std::span(record_).subspan(room_at_);
}

RecordAssembler::State RecordAssembler::Received(size_t n) {
  n = std::min(n, record_.size() - room_at_);
  record_.resize(room_at_ + n);
  fragment_left_ -= n;
  if (fragment_left_ == 0) EndFragment();
  return ready_ ? State::kRecordReady : State::kNeedMore;
}

void RecordAssembler::EndFragment() {
  in_fragment_ = false;
  if (last_fragment_) ready_ = true;
}

void RecordAssembler::NextRecord() {
  record_.clear();
  ready_ = false;
}

RecordBytes RecordAssembler::TakeRecord() {
  RecordBytes record = std::move(record_);
  NextRecord();
  return record;
}

}  // namespace rpc
