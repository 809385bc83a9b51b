#include "source/mbox/mbox_parser.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>

#include "core/error.h"
#include "core/text_fields.h"
#include "format/mbox/separator.h"

namespace mailmig::mbox {
namespace {

bool is_continuation(const Line& line) {
  return !line.head.empty() && (line.head[0] == ' ' || line.head[0] == '\t');
}

std::optional<std::uint32_t> line_number(std::uint64_t number) {
  if (number == 0 || number > std::numeric_limits<std::uint32_t>::max()) return std::nullopt;
  return static_cast<std::uint32_t>(number);
}

}  // namespace

MboxParser::MboxParser(std::string path, std::uint64_t file_size, ReadRules rules, FileFacts facts,
                       PeekFn peek, std::function<void(const MessageInfo&)> on_message, ProblemFn problem)
    : path_(std::move(path)),
      file_size_(file_size),
      rules_(rules),
      facts_(std::move(facts)),
      peek_(std::move(peek)),
      on_message_(std::move(on_message)),
      problem_(std::move(problem)) {
  info_.file = path_;
}

void MboxParser::add(const Line& line) {
  if (state_ == State::kBody && length_end_) {
    // Inside an exact Content-Length nothing is a separator.
    if (line.end() <= *length_end_) {
      content_line(line);
      return;
    }
    if (line.offset < *length_end_) {
      // The body's last line has no line end: its LF is the separator's empty line.
      meter_.end_at(*length_end_);
      meter_.count_quoting(line);
      state_ = State::kAfterLength;
      previous_empty_ = true;
      return;
    }
    state_ = State::kAfterLength;
  }
  if (line.starts_with_from() && (line.offset == 0 || previous_empty_) && state_ != State::kHeaders) {
    // After an exact Content-Length the next line is known to be a separator;
    // elsewhere a "From " line must carry a date, so a body line that happens
    // to start with "From " after an empty line does not split a message.
    if (state_ != State::kBody || separator_date(line.head)) {
      start_message(line);
      return;
    }
  }
  previous_empty_ = line.is_empty();
  switch (state_) {
    case State::kPreamble:
    case State::kAfterLength:
      return;
    case State::kHeaders:
      header_line(line);
      return;
    case State::kBody:
      content_line(line);
      return;
  }
}

void MboxParser::start_message(const Line& line) {
  if (state_ != State::kPreamble) {
    end_message();
  } else if (line.offset > 0) {
    report(Scope::Message, 0, 1,
           fmt::format("{} bytes before the first message are not a message", line.offset));
  }
  ++messages_;
  state_ = State::kHeaders;
  previous_empty_ = false;
  separator_line_ = line.number;
  start_message_info(info_, line, separator_date(line.head));
  meter_.start(line.end());
  hiding_ = pseudo_ = saw_date_header_ = false;
  content_length_.reset();
  length_end_.reset();
}

void MboxParser::header_line(const Line& line) {
  if (line.is_empty()) {
    end_of_headers(line);
    return;
  }
  if (!is_continuation(line)) {
    const StorageHeader kind = classify_header(line.head);
    hiding_ = kind != StorageHeader::None;
    const std::string_view value = header_value(line.head);
    switch (kind) {
      case StorageHeader::Status:
        info_.flags |= status_flags(value);
        break;
      case StorageHeader::XStatus:
        info_.flags |= x_status_flags(value);
        break;
      case StorageHeader::XKeywords:
        add_keywords(value, line.length == line.head.size(), info_.keywords);
        break;
      case StorageHeader::ContentLength:
        content_length_ = parse_length(value);
        break;
      case StorageHeader::XUid:
        // Only a file whose UIDs a server kept has meaningful X-UIDs, and only
        // growing ones up to the recorded last UID (Dovecot's sanity rule).
        if (auto uid = parse_uid(value);
            uid && facts_.base && *uid > last_uid_ && *uid <= facts_.base->last_uid) {
          info_.uid = uid;
        }
        break;
      case StorageHeader::XImap:
        if (messages_ == 1) pseudo_ = true;
        break;
      case StorageHeader::XImapBase:
      case StorageHeader::None:
        break;
    }
    if (kind == StorageHeader::None) {
      if (messages_ == 1 && is_pseudo_message_header(line.head)) pseudo_ = true;
      if (!info_.internal_date && !saw_date_header_ && starts_with_ci(line.head, "Date:")) {
        saw_date_header_ = true;
        info_.internal_date =
            parse_rfc5322_date(header_value(line.head));  // the separator had no usable date
      }
    }
  }
  if (hiding_) {
    meter_.hide(line);
    return;
  }
  content_line(line);
}

void MboxParser::end_of_headers(const Line& line) {
  // The empty line after the header is the message's own, not a separator's.
  meter_.add_own(line);
  state_ = State::kBody;
  hiding_ = false;
  body_start_ = line.end();
  if (rules_.content_length && content_length_) {
    const std::uint64_t end = line.end() + *content_length_;
    if (end >= line.end() && length_is_exact(end)) length_end_ = end;
  }
}

bool MboxParser::length_is_exact(std::uint64_t end) const {
  if (end > file_size_) return false;
  if (end == file_size_) return true;
  const std::string next = peek_(end, 7);
  return next == "\n" || next == "\r\n" || next.starts_with("\nFrom ") || next.starts_with("\r\nFrom ");
}

void MboxParser::content_line(const Line& line) {
  // Inside an exact Content-Length an empty line is the message's own.
  if (length_end_) {
    meter_.add_own(line);
  } else {
    meter_.add(line);
  }
}

void MboxParser::end_message() {
  if (length_end_) meter_.end_at(*length_end_);
  meter_.finish(info_, rules_.unquote);
  if (info_.uid) last_uid_ = *info_.uid;
  if (pseudo_) return;  // the folder-data message of UW-IMAP/Dovecot is not mail
  on_message_(info_);
}

void MboxParser::finish() {
  if (state_ == State::kPreamble) {
    if (file_size_ > 0) {
      report(Scope::Folder, 0, 1, "no \"From \" line starts a message: not an mbox file, nothing read");
    }
    return;
  }
  if (state_ == State::kHeaders) {
    report(Scope::Message, info_.offset, separator_line_,
           "message truncated: the file ends inside its header; delivered as found");
  } else if (state_ == State::kBody && !length_end_ && content_length_ && rules_.content_length &&
             body_start_ + *content_length_ > file_size_) {
    report(Scope::Message, info_.offset, separator_line_,
           fmt::format("message truncated: Content-Length promises {} body bytes but the file ends first; "
                       "delivered as found",
                       *content_length_));
  }
  end_message();
}

void MboxParser::report(Scope scope, std::uint64_t offset, std::uint64_t line, std::string message) const {
  problem_(Problem{.scope = scope,
                   .file = path_,
                   .offset = offset,
                   .line = line_number(line),
                   .message = std::move(message)});
}

std::vector<ByteRange> delivered_ranges(int fd, const std::string& path, std::uint64_t data_offset,
                                        std::uint64_t data_length) {
  if (::lseek(fd, static_cast<off_t>(data_offset), SEEK_SET) < 0)
    throw IoError(path, errno, "cannot seek", data_offset);
  const std::uint64_t end = data_offset + data_length;
  constexpr std::size_t kBuffer = std::size_t{64} << 10U;
  LineScanner scanner(fd, path, kBuffer);
  std::vector<ByteRange> out;
  std::uint64_t kept_from = data_offset;
  std::uint64_t position = data_offset;
  bool hiding = false;
  Line line;
  // The same classification as MboxParser::header_line, so the bytes match the scan's sizes.
  while (position < end && scanner.next(line)) {
    const std::uint64_t line_offset = data_offset + line.offset;
    if (line.is_empty()) break;
    if (!is_continuation(line)) hiding = classify_header(line.head) != StorageHeader::None;
    if (hiding) {
      if (line_offset > kept_from) out.push_back(ByteRange{kept_from, line_offset - kept_from});
      kept_from = std::min(end, line_offset + line.length);
    }
    position = line_offset + line.length;
  }
  if (end > kept_from) out.push_back(ByteRange{kept_from, end - kept_from});
  return out;
}

}  // namespace mailmig::mbox
