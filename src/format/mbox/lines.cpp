#include "format/mbox/lines.h"

#include <algorithm>
#include <cstring>

#include "core/file_read.h"

namespace mailmig::mbox {

bool is_quoted_from(std::string_view line) {
  const std::size_t quotes = std::min(line.find_first_not_of('>'), line.size());
  return quotes > 0 && line.substr(quotes).starts_with(kFromPrefix);
}

void QuotedFromMatcher::feed(std::string_view piece) {
  for (const char c : piece) {
    switch (state_) {
      case State::kStart:
        state_ = c == '>' ? State::kQuotes : State::kNo;
        break;
      case State::kQuotes:
        if (c == '>') break;
        state_ = c == kFromPrefix[0] ? State::kFrom : State::kNo;
        from_matched_ = 1;
        break;
      case State::kFrom:
        if (c != kFromPrefix[from_matched_]) {
          state_ = State::kNo;
        } else if (++from_matched_ == kFromPrefix.size()) {
          state_ = State::kYes;
        }
        break;
      case State::kYes:
      case State::kNo:
        return;
    }
  }
}

LineScanner::LineScanner(int fd, std::string path, std::size_t buffer_size, std::size_t head_limit)
    : fd_(fd),
      path_(std::move(path)),
      capacity_(std::max<std::size_t>(buffer_size, 1)),
      head_limit_(head_limit),
      buffer_(std::make_unique_for_overwrite<char[]>(capacity_)) {}

std::size_t LineScanner::fill() {
  const std::size_t n = read_some(fd_, buffer_.get() + end_, capacity_ - end_, path_, base_ + end_);
  if (n == 0) eof_ = true;
  end_ += n;
  return n;
}

void LineScanner::emit(Line& line, std::size_t end, bool terminated) {
  const char* start = buffer_.get() + begin_;
  const std::size_t length = end - begin_;
  line.offset = base_ + begin_;
  line.length = length;
  line.number = ++number_;
  line.head = std::string_view(start, std::min(length, head_limit_));
  line.terminated = terminated;
  line.crlf = terminated && length >= 2 && start[length - 2] == '\r';
  // The whole line is at hand, so a '>' run of any length is decided here.
  line.quoted_from = *start == '>' && is_quoted_from(std::string_view(start, length));
  begin_ = end;
}

bool LineScanner::next(Line& line) {
  std::size_t scanned = begin_;  // [begin_, scanned) is known to hold no LF
  for (;;) {
    const void* hit = std::memchr(buffer_.get() + scanned, '\n', end_ - scanned);
    if (hit != nullptr) {
      emit(line, static_cast<std::size_t>(static_cast<const char*>(hit) - buffer_.get()) + 1, true);
      return true;
    }
    scanned = end_;
    if (eof_) {
      if (begin_ == end_) return false;
      emit(line, end_, false);
      return true;
    }
    if (begin_ > 0) {
      // Move the partial line to the front: one memmove per buffer refill.
      std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
      base_ += begin_;
      end_ -= begin_;
      scanned -= begin_;
      begin_ = 0;
    }
    if (end_ == capacity_) return next_long(line);
    fill();
  }
}

// The buffer holds the start of one line and no LF. Stream the rest of the
// line through the buffer, keeping only its head, length and last byte.
bool LineScanner::next_long(Line& line) {
  long_head_.assign(buffer_.get(), std::min(capacity_, head_limit_));
  QuotedFromMatcher quoted;
  quoted.feed(std::string_view(buffer_.get(), capacity_));
  line.offset = base_;
  line.number = ++number_;
  std::uint64_t length = capacity_;
  char last = buffer_[capacity_ - 1];
  bool terminated = false;
  bool crlf = false;
  for (;;) {
    base_ += end_;
    begin_ = end_ = 0;
    const std::size_t n = fill();
    if (n == 0) break;
    const void* hit = std::memchr(buffer_.get(), '\n', n);
    const std::size_t take =
        hit == nullptr ? n : static_cast<std::size_t>(static_cast<const char*>(hit) - buffer_.get()) + 1;
    const std::string_view piece(buffer_.get(), take);
    if (long_head_.size() < head_limit_) long_head_.append(piece.substr(0, head_limit_ - long_head_.size()));
    if (!quoted.decided()) quoted.feed(piece);
    length += take;
    if (hit != nullptr) {
      terminated = true;
      crlf = (take >= 2 ? buffer_[take - 2] : last) == '\r';
      begin_ = take;
      break;
    }
    last = buffer_[n - 1];
  }
  line.length = length;
  line.head = long_head_;
  line.terminated = terminated;
  line.crlf = crlf;
  line.quoted_from = quoted.matched();
  return true;
}

}  // namespace mailmig::mbox
