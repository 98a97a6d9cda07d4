#include "rpc/xdr.h"

#include <algorithm>
#include <cstring>

namespace rpc {
namespace {

size_t Padded(size_t n) { return (n + 3) & ~size_t{3}; }

}  // namespace

std::span<const uint8_t> XdrReader::Take(size_t n) {
  if (!ok_ || data_.size() - pos_ < n) {
    ok_ = false;
    return {};
  }
  auto out = data_.subspan(pos_, n);
  pos_ += n;
  return out;
}

uint32_t XdrReader::U32() {
  auto b = Take(4);
  if (b.empty()) return 0;
  return uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3];
}

uint64_t XdrReader::U64() {
  const uint64_t hi = U32();
  return hi << 32 | U32();
}

bool XdrReader::Bool() {
  const uint32_t v = U32();
  if (v > 1) ok_ = false;  // XDR booleans are exactly 0 or 1
  return v == 1;
}

std::span<const uint8_t> XdrReader::FixedOpaque(uint32_t size) {
  auto padded = Take(Padded(size));
  return padded.empty() ? padded : padded.first(size);
}

std::span<const uint8_t> XdrReader::Opaque(uint32_t max_size) {
  const uint32_t size = U32();
  if (size > max_size) {
    ok_ = false;
    return {};
  }
  return FixedOpaque(size);
}

std::string_view XdrReader::String(uint32_t max_size) {
  auto bytes = Opaque(max_size);
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

void XdrCursor::FixedOpaque(std::span<const uint8_t> bytes) {
  const size_t padded = Padded(bytes.size());
  assert(at_ + padded <= out_.size());
  if (!bytes.empty()) std::memcpy(out_.data() + at_, bytes.data(), bytes.size());
  std::fill(out_.begin() + static_cast<std::ptrdiff_t>(at_ + bytes.size()),
            out_.begin() + static_cast<std::ptrdiff_t>(at_ + padded), uint8_t{0});
  at_ += padded;
}

void XdrCursor::Opaque(std::span<const uint8_t> bytes) {
  U32(static_cast<uint32_t>(bytes.size()));
  FixedOpaque(bytes);
}

void XdrCursor::String(std::string_view s) {
  Opaque({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}

void XdrWriter::FixedOpaque(std::span<const uint8_t> bytes) {
  // One resize (which zeroes the padding) and one copy: vector::insert's
  // general range path cost about 170 instructions a call (callgrind), and
  // a READDIRPLUS entry makes two of them.
  const size_t at = out_.size();
  out_.resize(at + Padded(bytes.size()));
  if (!bytes.empty()) std::memcpy(out_.data() + at, bytes.data(), bytes.size());
}

void XdrWriter::Opaque(std::span<const uint8_t> bytes) {
  U32(static_cast<uint32_t>(bytes.size()));
  FixedOpaque(bytes);
}

void XdrWriter::String(std::string_view s) {
  Opaque({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}

size_t XdrWriter::Reserve(size_t n) {
  const size_t at = out_.size();
  out_.resize(at + Padded(n), 0);
  return at;
}

void XdrWriter::ShrinkOpaque(size_t offset, size_t n) {
  out_.resize(offset + Padded(n));
  std::fill(out_.begin() + static_cast<std::ptrdiff_t>(offset + n), out_.end(), 0);
}

void XdrWriter::PatchU32(size_t offset, uint32_t v) { StoreU32(out_.data() + offset, v); }

}  // namespace rpc
