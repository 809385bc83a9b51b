// Line scanning for text mailboxes with bounded memory. A CommuniGate .mbox
// may hold lines of any length ("mailbox has a very long line"), so a line is
// described, never held: its offset, length, how it ends, whether it is a
// quoted "From " line, and only its first bytes (enough for a separator or a
// storage header). Lines longer than the buffer stream through it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace mailmig::mbox {

inline constexpr std::string_view kFromPrefix = "From ";

// True for a complete line matching ^>+"From " (mboxrd quoting).
bool is_quoted_from(std::string_view line);

// Decides ^>+"From " for a line that arrives in pieces.
class QuotedFromMatcher {
 public:
  // Consumes bytes until the answer is known.
  void feed(std::string_view piece);
  [[nodiscard]] bool decided() const { return state_ == State::kYes || state_ == State::kNo; }
  [[nodiscard]] bool matched() const { return state_ == State::kYes; }

 private:
  enum class State : std::uint8_t { kStart, kQuotes, kFrom, kYes, kNo };
  State state_ = State::kStart;
  std::size_t from_matched_ = 0;  // bytes of "From " seen, in kFrom
};

struct Line {
  std::uint64_t offset = 0;  // of its first byte in the file
  std::uint64_t length = 0;  // bytes including the line end
  std::uint64_t number = 0;  // 1-based
  // The first min(length, head limit) bytes, line end included when it fits.
  // Valid until the next LineScanner::next().
  std::string_view head;
  bool terminated = false;   // ends with LF (false only for a file's last line)
  bool crlf = false;         // ends with CR LF
  bool quoted_from = false;  // matches ^>+"From "

  [[nodiscard]] std::uint64_t end() const { return offset + length; }
  // "\n" or "\r\n": the line that precedes a separator.
  [[nodiscard]] bool is_empty() const { return terminated && (length == 1 || (length == 2 && crlf)); }
  [[nodiscard]] bool starts_with_from() const { return head.starts_with(kFromPrefix); }
  // Bytes RFC822.SIZE adds: one CR for an LF that has none.
  [[nodiscard]] std::uint64_t bare_lf() const { return terminated && !crlf ? 1 : 0; }
};

// Splits a file into lines through one fixed buffer (memchr over big reads).
class LineScanner {
 public:
  static constexpr std::size_t kDefaultBuffer = std::size_t{1} << 20U;
  static constexpr std::size_t kDefaultHead = 1024;

  // Reads `fd` from its current position; `path` labels errors. Any
  // buffer_size >= 1 works (tiny ones are for tests).
  LineScanner(int fd, std::string path, std::size_t buffer_size = kDefaultBuffer,
              std::size_t head_limit = kDefaultHead);

  // The next line, false at the end of the file. Throws IoError.
  bool next(Line& line);

 private:
  std::size_t fill();  // appends one read at end_; sets eof_
  void emit(Line& line, std::size_t end, bool terminated);
  bool next_long(Line& line);  // the buffer is full of one line without LF

  int fd_;
  std::string path_;
  std::size_t capacity_;
  std::size_t head_limit_;
  std::unique_ptr<char[]> buffer_;
  std::size_t begin_ = 0;   // start of the next line in buffer_
  std::size_t end_ = 0;     // end of the bytes read
  std::uint64_t base_ = 0;  // file offset of buffer_[0]
  std::uint64_t number_ = 0;
  bool eof_ = false;
  std::string long_head_;  // head of a line longer than the buffer
};

}  // namespace mailmig::mbox
