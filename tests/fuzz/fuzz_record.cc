// Fuzzes RecordAssembler against a reference parser of the same stream.
//
// Input: byte 0 is the maximum record size (0-255, small so that kTooLarge
// is reached often); the rest is a sequence of pieces, each a length byte L
// followed by L bytes (fewer at the end of the input). The concatenated
// piece bodies are the TCP byte stream, and each piece is one Feed(), so
// the fuzzer chooses the chunking as well as the bytes, empty chunks
// included.
//
// Mid-fragment, every other piece is received straight into the record
// (FragmentRoom() and Received(), as the server takes large fragments).
//
// Checked: every record handed out (by TakeRecord() or by record() and
// NextRecord(), alternately) is exactly the concatenation of its fragments
// and ends where the reference says; kTooLarge comes exactly where the
// reference finds the first fragment that would overflow the limit, and
// nothing is consumed beyond its header; kNeedMore consumes the whole chunk;
// no record is lost or invented.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <utility>
#include <vector>

#include "rpc/record.h"

namespace {

#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (false)

struct Reference {
  std::vector<std::vector<uint8_t>> records;
  std::vector<size_t> record_ends;  // stream offset just past each record
  bool too_large = false;
  size_t too_large_at = 0;  // stream offset just past the offending header
};

// RFC 5531 §11 record marking, written for clarity rather than speed.
Reference Parse(std::span<const uint8_t> stream, size_t max_record_size) {
  Reference ref;
  std::vector<uint8_t> current;
  size_t pos = 0;
  while (stream.size() - pos >= 4) {
    const uint32_t mark = uint32_t{stream[pos]} << 24 | uint32_t{stream[pos + 1]} << 16 |
                          uint32_t{stream[pos + 2]} << 8 | stream[pos + 3];
    pos += 4;
    const size_t length = mark & 0x7fffffffu;
    if (current.size() + length > max_record_size) {
      ref.too_large = true;
      ref.too_large_at = pos;
      break;
    }
    if (stream.size() - pos < length) break;  // the stream ends mid-fragment
    current.insert(current.end(), stream.begin() + pos, stream.begin() + pos + length);
    pos += length;
    if ((mark & 0x80000000u) != 0) {
      ref.records.push_back(std::move(current));
      ref.record_ends.push_back(pos);
      current.clear();
    }
  }
  return ref;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t max_record_size = data[0];
  std::vector<uint8_t> stream;
  std::vector<size_t> chunk_sizes;
  for (size_t pos = 1; pos < size;) {
    const size_t length = std::min<size_t>(data[pos], size - pos - 1);
    stream.insert(stream.end(), data + pos + 1, data + pos + 1 + length);
    chunk_sizes.push_back(length);
    pos += 1 + length;
  }
  const Reference ref = Parse(stream, max_record_size);

  rpc::RecordAssembler assembler(max_record_size);
  size_t offset = 0;  // stream bytes consumed so far
  size_t records = 0;
  bool stopped = false;
  for (size_t chunk_size : chunk_sizes) {
    std::span<const uint8_t> chunk(stream.data() + offset, chunk_size);
    // A chunk may end one record and start the next: feed until used up.
    do {
      size_t consumed = 0;
      rpc::RecordAssembler::State state{};
      // Mid-fragment, take the server's way for large fragments (straight
      // into the record) on every other stream offset.
      const bool direct = assembler.fragment_left() > 0 && offset % 2 == 1;
      if (direct) {
        const std::span<uint8_t> room = assembler.FragmentRoom();
        CHECK(room.size() == assembler.fragment_left());
        consumed = std::min(room.size(), chunk.size());
        std::copy_n(chunk.begin(), consumed, room.begin());
        state = assembler.Received(consumed);
      } else {
        state = assembler.Feed(chunk, &consumed);
      }
      CHECK(consumed <= chunk.size());
      offset += consumed;
      chunk = chunk.subspan(consumed);
      if (state == rpc::RecordAssembler::State::kTooLarge) {
        CHECK(ref.too_large);
        CHECK(records == ref.records.size());
        CHECK(offset == ref.too_large_at);
        stopped = true;  // the server drops the connection here
        break;
      }
      if (state == rpc::RecordAssembler::State::kNeedMore) {
        CHECK(chunk.empty() || direct);  // Feed uses up its chunk
        continue;
      }
      CHECK(records < ref.records.size());
      CHECK(offset == ref.record_ends[records]);
      // Both ways of taking a record, alternately.
      rpc::RecordBytes record;
      if (records % 2 == 0) {
        record = assembler.TakeRecord();
      } else {
        record.assign(assembler.record().begin(), assembler.record().end());
        assembler.NextRecord();
      }
      CHECK(record.size() <= max_record_size);
      CHECK(std::ranges::equal(record, ref.records[records]));
      ++records;
    } while (!chunk.empty());
    if (stopped) break;
    // Bytes of this chunk left unconsumed would be lost to the server, which
    // hands Feed each chunk once.
    CHECK(chunk.empty());
  }
  CHECK(records == ref.records.size());
  CHECK(stopped == ref.too_large);
  return 0;
}
