// Streams one byte range of a mailbox file, optionally undoing mboxrd
// "From " quoting on the way, with a fixed buffer and no line assembly.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/byte_reader.h"
#include "source/cgp/mbox_io.h"

namespace mailmig::cgp {

class MboxRangeReader final : public ByteReader {
 public:
  static constexpr std::size_t kDefaultBuffer = std::size_t{64} << 10U;

  // Reads [offset, offset+length) of `fd` with pread. `unquote`: a line
  // matching ^>+"From " loses its first '>'. Any buffer_size >= 1 works.
  MboxRangeReader(UniqueFd fd, std::string path, std::uint64_t offset, std::uint64_t length, bool unquote,
                  std::size_t buffer_size = kDefaultBuffer);

  std::size_t read(std::span<char> out) override;

 private:
  bool refill();                              // false at the end of the range
  void release_held(std::size_t from_bytes);  // a '>' line start that was no quoted "From "

  UniqueFd fd_;
  std::string path_;
  std::uint64_t position_;  // file offset of the next read
  std::uint64_t end_;       // file offset where the range ends
  bool unquote_;
  std::size_t capacity_;
  std::unique_ptr<char[]> buffer_;
  std::size_t begin_ = 0;   // next unconsumed byte in buffer_
  std::size_t filled_ = 0;  // bytes valid in buffer_
  bool at_line_start_ = true;
  // A line start with '>' is undecided until the '>' run and "From " are
  // seen, which may straddle reads. Only the first '>' and the matched part of
  // "From " are held back (at most 5 bytes), the rest of a '>' run is passed
  // on at once: the '>'s are identical, so which one is dropped is moot.
  bool matching_ = false;
  std::size_t from_matched_ = 0;   // bytes of "From " held back
  std::array<char, 8> pending_{};  // held bytes released, waiting for room
  std::size_t pending_begin_ = 0;
  std::size_t pending_end_ = 0;
};

}  // namespace mailmig::cgp
