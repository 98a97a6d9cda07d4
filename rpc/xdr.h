// XDR (RFC 4506) decoding and encoding.
//
// XdrReader reads from a caller-owned buffer and hands out views into it
// (opaque data, strings): the buffer must outlive every view. A reader that
// meets malformed or short input enters a failed state and returns zeros and
// empty views from then on, so a decoder can read a whole structure and
// check ok() once at the end.
//
// XdrWriter appends to a caller-owned std::pmr::vector, so a reply can be
// built in the request's arena.
#pragma once

#include <cassert>
#include <cstdint>
#include <memory_resource>
#include <span>
#include <string_view>
#include <vector>

namespace rpc {

class XdrReader {
 public:
  explicit XdrReader(std::span<const uint8_t> data) : data_(data) {}

  bool ok() const { return ok_; }
  void Fail() { ok_ = false; }
  size_t remaining() const { return ok_ ? data_.size() - pos_ : 0; }
  size_t position() const { return pos_; }

  uint32_t U32();
  int32_t I32() { return static_cast<int32_t>(U32()); }
  uint64_t U64();
  bool Bool();
  // Variable-length opaque<max> / string<max>: a view into the buffer.
  std::span<const uint8_t> Opaque(uint32_t max_size);
  std::string_view String(uint32_t max_size);
  // Fixed-length opaque[size].
  std::span<const uint8_t> FixedOpaque(uint32_t size);

 private:
  std::span<const uint8_t> Take(size_t n);

  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// Stores `v` big-endian at `out`, as XDR stores every integer.
inline void StoreU32(uint8_t* out, uint32_t v) {
  out[0] = static_cast<uint8_t>(v >> 24);
  out[1] = static_cast<uint8_t>(v >> 16);
  out[2] = static_cast<uint8_t>(v >> 8);
  out[3] = static_cast<uint8_t>(v);
}

// Writes XDR into bytes sized in advance (XdrWriter::Append): for an
// encoder that knows its size before it starts and runs hundreds of times
// a reply (a READDIRPLUS entry), where every append growing the reply on
// its own cost more than the encoding. Writing past the span's end is a
// bug in the caller's size; debug builds assert it.
class XdrCursor {
 public:
  explicit XdrCursor(std::span<uint8_t> out) : out_(out) {}

  void U32(uint32_t v) {
    assert(at_ + 4 <= out_.size());
    StoreU32(out_.data() + at_, v);
    at_ += 4;
  }
  void U64(uint64_t v) {
    U32(static_cast<uint32_t>(v >> 32));
    U32(static_cast<uint32_t>(v));
  }
  void Bool(bool v) { U32(v ? 1 : 0); }
  void Opaque(std::span<const uint8_t> bytes);  // length, bytes, padding
  void String(std::string_view s);
  void FixedOpaque(std::span<const uint8_t> bytes);  // bytes, padding
  // How many bytes were written; all of them, once the encoder is done.
  size_t written() const { return at_; }

 private:
  std::span<uint8_t> out_;
  size_t at_ = 0;
};

class XdrWriter {
 public:
  explicit XdrWriter(std::pmr::vector<uint8_t>& out) : out_(out) {}

  // Integers are appended and written by an XdrCursor, which holds their
  // one encoding. Inline: many replies write dozens.
  void U32(uint32_t v) { XdrCursor(Append(4)).U32(v); }
  void I32(int32_t v) { U32(static_cast<uint32_t>(v)); }
  void U64(uint64_t v) { XdrCursor(Append(8)).U64(v); }
  void Bool(bool v) { U32(v ? 1 : 0); }
  void Opaque(std::span<const uint8_t> bytes);  // length, bytes, padding
  void String(std::string_view s);
  void FixedOpaque(std::span<const uint8_t> bytes);  // bytes, padding
  // Appends `n` bytes for the caller to fill in whole (through an
  // XdrCursor); they stay valid until the next append.
  std::span<uint8_t> Append(size_t n) {
    const size_t at = out_.size();
    out_.resize(at + n);
    return {out_.data() + at, n};
  }
  // Reserves `n` bytes (plus padding) to be filled later; returns the offset.
  size_t Reserve(size_t n);
  // Overwrites a u32 written earlier at `offset` (e.g. a length).
  void PatchU32(size_t offset, uint32_t v);
  // The bytes of a Reserve()d region, to fill in place (e.g. a READ
  // decrypting straight into the reply).
  std::span<uint8_t> Region(size_t offset, size_t n) { return {out_.data() + offset, n}; }
  // Cuts a Reserve()d opaque short: keeps `n` bytes from `offset` plus
  // padding, and drops everything after them.
  void ShrinkOpaque(size_t offset, size_t n);
  // Makes room for `n` more bytes at once, so a large reply grows once.
  void ReserveCapacity(size_t n) { out_.reserve(out_.size() + n); }
  size_t size() const { return out_.size(); }

 private:
  std::pmr::vector<uint8_t>& out_;
};

}  // namespace rpc
