#include "source/cgp/mbox_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "source/cgp/mbox_lines.h"

namespace mailmig::cgp {

MboxRangeReader::MboxRangeReader(UniqueFd fd, std::string path, std::uint64_t offset, std::uint64_t length,
                                 bool unquote, std::size_t buffer_size)
    : fd_(std::move(fd)),
      path_(std::move(path)),
      position_(offset),
      end_(offset + length),
      unquote_(unquote),
      capacity_(std::max<std::size_t>(buffer_size, 1)),
      buffer_(std::make_unique_for_overwrite<char[]>(capacity_)) {}

bool MboxRangeReader::refill() {
  if (position_ >= end_) return false;
  const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(capacity_, end_ - position_));
  const std::size_t got = pread_some(fd_.get(), buffer_.get(), want, position_, path_);
  // The scan measured this range; a shorter file now means it was changed.
  if (got == 0)
    throw IoError(path_, EIO, "file ends before the message does (changed since the scan?)", position_);
  begin_ = 0;
  filled_ = got;
  position_ += got;
  return true;
}

void MboxRangeReader::release_held(std::size_t from_bytes) {
  pending_[0] = '>';
  std::copy_n(kFromPrefix.begin(), from_bytes, pending_.begin() + 1);
  pending_begin_ = 0;
  pending_end_ = 1 + from_bytes;
  matching_ = false;
  at_line_start_ = false;
}

std::size_t MboxRangeReader::read(std::span<char> out) {
  std::size_t n = 0;
  while (n < out.size()) {
    if (pending_begin_ < pending_end_) {
      const std::size_t k = std::min(out.size() - n, pending_end_ - pending_begin_);
      std::memcpy(out.data() + n, pending_.data() + pending_begin_, k);
      n += k;
      pending_begin_ += k;
      continue;
    }
    if (begin_ == filled_ && !refill()) {
      if (!matching_) break;
      release_held(from_matched_);  // the range ended inside an undecided line start
      continue;
    }
    const char* p = buffer_.get() + begin_;
    if (matching_) {
      if (from_matched_ == 0 && *p == '>') {  // a further '>' of the run: passed on
        out[n++] = *p;
        ++begin_;
      } else if (*p == kFromPrefix[from_matched_]) {
        ++begin_;
        if (++from_matched_ == kFromPrefix.size()) {
          // A quoted "From ": release it without the held first '>'.
          release_held(kFromPrefix.size());
          pending_begin_ = 1;
        }
      } else {
        release_held(from_matched_);  // *p is ordinary text, copied on the next round
      }
      continue;
    }
    if (unquote_ && at_line_start_ && *p == '>') {
      matching_ = true;
      from_matched_ = 0;
      ++begin_;
      continue;
    }
    const std::size_t want = std::min(out.size() - n, filled_ - begin_);
    std::size_t take = want;
    if (unquote_) {
      // Copy up to and including the next LF so the next line start is seen.
      const void* hit = std::memchr(p, '\n', want);
      at_line_start_ = hit != nullptr;
      if (hit != nullptr) take = static_cast<std::size_t>(static_cast<const char*>(hit) - p) + 1;
    }
    std::memcpy(out.data() + n, p, take);
    n += take;
    begin_ += take;
  }
  return n;
}

}  // namespace mailmig::cgp
