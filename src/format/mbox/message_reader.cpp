#include "format/mbox/message_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "core/file_read.h"
#include "format/mbox/lines.h"

namespace mailmig::mbox {

MboxMessageReader::MboxMessageReader(UniqueFd fd, std::string path, std::vector<ByteRange> ranges,
                                     Unquote unquote, std::size_t buffer_size)
    : fd_(std::move(fd)),
      path_(std::move(path)),
      ranges_(std::move(ranges)),
      unquote_(unquote),
      capacity_(std::max<std::size_t>(buffer_size, 1)),
      buffer_(std::make_unique_for_overwrite<char[]>(capacity_)) {}

bool MboxMessageReader::refill() {
  while (range_ < ranges_.size() && range_done_ >= ranges_[range_].length) {
    ++range_;
    range_done_ = 0;
    if (matching_) return true;  // let read() release what is held before the next line starts
    at_line_start_ = true;
  }
  if (range_ >= ranges_.size()) return false;
  const ByteRange& r = ranges_[range_];
  const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(capacity_, r.length - range_done_));
  const std::uint64_t at = r.offset + range_done_;
  const std::size_t got = pread_some(fd_.get(), buffer_.get(), want, at, path_);
  // The scan measured this range; a shorter file now means it was changed.
  if (got == 0) throw IoError(path_, EIO, "file ends before the message does (changed since the scan?)", at);
  begin_ = 0;
  filled_ = got;
  range_done_ += got;
  return true;
}

void MboxMessageReader::release_held() {
  pending_[0] = '>';
  std::copy_n(kFromPrefix.begin(), from_matched_, pending_.begin() + 1);
  pending_begin_ = 0;
  pending_end_ = 1 + from_matched_;
  matching_ = false;
  at_line_start_ = false;
}

void MboxMessageReader::drop_held_quote() {
  std::copy_n(kFromPrefix.begin(), kFromPrefix.size(), pending_.begin());
  pending_begin_ = 0;
  pending_end_ = kFromPrefix.size();
  matching_ = false;
  at_line_start_ = false;
}

std::size_t MboxMessageReader::read(std::span<char> out) {
  std::size_t n = 0;
  while (n < out.size()) {
    if (pending_begin_ < pending_end_) {
      const std::size_t k = std::min(out.size() - n, pending_end_ - pending_begin_);
      std::memcpy(out.data() + n, pending_.data() + pending_begin_, k);
      n += k;
      pending_begin_ += k;
      continue;
    }
    if (begin_ == filled_) {
      const bool more = refill();
      if (begin_ == filled_ || !more) {
        if (matching_) {  // a range or the message ended inside an undecided line start
          release_held();
          if (more) at_line_start_ = true;
          continue;
        }
        if (!more) break;
        continue;
      }
    }
    const char* p = buffer_.get() + begin_;
    if (matching_) {
      if (from_matched_ == 0 && *p == '>') {
        if (unquote_ == Unquote::All) {  // a further '>' of the run: passed on, the held one stays held
          out[n++] = *p;
          ++begin_;
        } else {
          release_held();  // mboxo: only ">From " was quoted; ">>From " is text
        }
      } else if (*p == kFromPrefix[from_matched_]) {
        ++begin_;
        if (++from_matched_ == kFromPrefix.size()) drop_held_quote();
      } else {
        release_held();  // *p is ordinary text, copied on the next round
      }
      continue;
    }
    if (unquote_ != Unquote::None && at_line_start_ && *p == '>') {
      matching_ = true;
      from_matched_ = 0;
      ++begin_;
      continue;
    }
    const std::size_t want = std::min(out.size() - n, filled_ - begin_);
    std::size_t take = want;
    if (unquote_ != Unquote::None) {
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

}  // namespace mailmig::mbox
