// The one mbox un-quoting reader: streams the byte ranges of a file that make
// up a message (mbox: the header without its storage fields, then the body;
// cgp: one range), undoing mboxo or mboxrd "From " quoting on the way
// (Unquote, variants.h), with a fixed buffer and no line assembly.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/byte_reader.h"
#include "core/unique_fd.h"
#include "format/mbox/variants.h"

namespace mailmig::mbox {

struct ByteRange {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

class MboxMessageReader final : public ByteReader {
 public:
  static constexpr std::size_t kDefaultBuffer = std::size_t{64} << 10U;

  // Every range must begin at a line start. Any buffer_size >= 1 works.
  MboxMessageReader(UniqueFd fd, std::string path, std::vector<ByteRange> ranges, Unquote unquote,
                    std::size_t buffer_size = kDefaultBuffer);

  std::size_t read(std::span<char> out) override;

 private:
  bool refill();           // false when every range is read
  void release_held();     // the held '>' (and matched "From" prefix) was ordinary text
  void drop_held_quote();  // a quoted "From ": pass it on without the held '>'

  UniqueFd fd_;
  std::string path_;
  std::vector<ByteRange> ranges_;
  std::size_t range_ = 0;         // index of the range being read
  std::uint64_t range_done_ = 0;  // bytes of it already read
  Unquote unquote_;
  std::size_t capacity_;
  std::unique_ptr<char[]> buffer_;
  std::size_t begin_ = 0;
  std::size_t filled_ = 0;
  bool at_line_start_ = true;
  // A line start with '>' is undecided until the '>' run and "From " are
  // seen, which may straddle reads: the first '>' and the matched part of
  // "From " are held back (at most 6 bytes).
  bool matching_ = false;
  std::size_t from_matched_ = 0;
  std::array<char, 8> pending_{};
  std::size_t pending_begin_ = 0;
  std::size_t pending_end_ = 0;
};

}  // namespace mailmig::mbox
