#include "source/cgp/mailbox_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/ascii.h"
#include "core/crlf.h"
#include "core/datetime.h"
#include "core/error.h"
#include "core/fs.h"
#include "source/cgp/mbox_io.h"
#include "source/cgp/mbox_lines.h"
#include "source/cgp/mbox_reader.h"

namespace mailmig::cgp {
namespace {

using OnMessage = std::function<void(const MessageInfo&)>;

// ---- text helpers -------------------------------------------------------------

bool starts_with_ci(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && ascii_iequals(text.substr(0, prefix.size()), prefix);
}

// Without surrounding blanks and the line end.
std::string_view trim(std::string_view text) {
  constexpr std::string_view kBlank = " \t\r\n";
  const std::size_t first = text.find_first_not_of(kBlank);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kBlank) - first + 1);
}

// A decimal number of 1..max_digits digits, nothing else.
std::optional<std::uint64_t> parse_decimal(std::string_view text, std::size_t max_digits) {
  if (text.empty() || text.size() > max_digits) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

std::optional<std::uint32_t> parse_uid(std::string_view text) {
  const auto value = parse_decimal(text, 10);
  if (!value || *value == 0 || *value > std::numeric_limits<std::uint32_t>::max()) return std::nullopt;
  return static_cast<std::uint32_t>(*value);
}

std::optional<std::uint32_t> line_number(std::uint64_t number) {
  if (number == 0 || number > std::numeric_limits<std::uint32_t>::max()) return std::nullopt;
  return static_cast<std::uint32_t>(number);
}

// ---- working conventions (docs/cgp-store.md, sections 5 and 6) ----------------
// Everything the project assumes about the CommuniGate formats is in this
// section, so it can be corrected in one place once a real store is seen.

std::optional<DateTime> parse_separator_date_text(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  if (auto date = parse_ctime(text)) return date;
  return parse_rfc5322_date(text);
}

// The date of a separator line: "From <sender> <ctime date, UTC>" or
// "From <<sender>> <RFC 822 date with zone>". Tolerated variants: an empty
// sender, a sender with spaces, either date form after either sender form.
std::optional<DateTime> separator_date(std::string_view head) {
  const std::string_view rest = trim(head.substr(kFromPrefix.size()));
  std::size_t sender_end = std::string_view::npos;
  if (rest.starts_with('<')) {
    sender_end = rest.find("> ");  // a quoted local part may hold spaces, the address ends at "> "
    if (sender_end != std::string_view::npos) ++sender_end;
  } else {
    sender_end = rest.find_first_of(" \t");
  }
  if (sender_end != std::string_view::npos) {
    if (auto date = parse_separator_date_text(rest.substr(sender_end))) return date;
  }
  // Slow path for odd lines only: try the date from each later word on.
  constexpr int kMaxTries = 8;
  std::size_t pos = 0;
  for (int i = 0; i < kMaxTries && pos != std::string_view::npos; ++i) {
    if (auto date = parse_separator_date_text(rest.substr(pos))) return date;
    pos = rest.find_first_of(" \t", pos);
    if (pos != std::string_view::npos) pos = rest.find_first_not_of(" \t", pos);
  }
  return std::nullopt;
}

Flags status_flags(std::string_view letters) {
  Flags flags = 0;
  for (const char c : letters) {
    if (ascii_lower(c) == 'r') flags |= kSeen;  // 'O' (old) is session state, not a flag
  }
  return flags;
}

Flags x_status_flags(std::string_view letters) {
  Flags flags = 0;
  for (const char c : letters) {
    switch (ascii_lower(c)) {
      case 'a':
        flags |= kAnswered;
        break;
      case 'f':
        flags |= kFlagged;
        break;
      case 'd':
        flags |= kDeleted;
        break;
      case 't':
        flags |= kDraft;
        break;
      default:
        break;
    }
  }
  return flags;
}

// `complete`: false when the line was longer than `head`, so its last word may be cut.
void add_keywords(std::string_view value, bool complete, std::vector<std::string>& keywords) {
  constexpr std::string_view kSeparators = " \t,";
  std::size_t pos = value.find_first_not_of(kSeparators);
  while (pos != std::string_view::npos) {
    const std::size_t end = value.find_first_of(kSeparators, pos);
    if (end == std::string_view::npos && !complete) break;
    keywords.emplace_back(value.substr(pos, end == std::string_view::npos ? end : end - pos));
    pos = end == std::string_view::npos ? end : value.find_first_not_of(kSeparators, end);
  }
}

// The storage lines directly after a separator: X-UID, Status, X-Status and
// (a tolerated variant) X-Keywords, in any order. Applies one to `info`;
// false when `line` is none of them, i.e. the message itself begins.
bool apply_storage_line(const Line& line, MessageInfo& info) {
  const std::string_view head = line.head;
  if (head.empty() || (head[0] != 'X' && head[0] != 'x' && head[0] != 'S' && head[0] != 's')) return false;
  if (starts_with_ci(head, "X-UID:")) {
    if (auto uid = parse_uid(trim(head.substr(6)))) info.uid = uid;
    return true;
  }
  if (starts_with_ci(head, "Status:")) {
    info.flags |= status_flags(trim(head.substr(7)));
    return true;
  }
  if (starts_with_ci(head, "X-Status:")) {
    info.flags |= x_status_flags(trim(head.substr(9)));
    return true;
  }
  if (starts_with_ci(head, "X-Keywords:")) {
    add_keywords(trim(head.substr(11)), line.length == head.size(), info.keywords);
    return true;
  }
  return false;
}

// The folder-data pseudo message UW-IMAP (c-client) puts first in a mailbox;
// stores imported from UW-IMAP may still carry it. It is not mail.
bool is_pseudo_message_header(std::string_view head) {
  constexpr std::string_view kPseudoSubject = "DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA";
  return starts_with_ci(head, "X-IMAP:") ||
         (starts_with_ci(head, "Subject:") && ascii_iequals(trim(head.substr(8)), kPseudoSubject));
}

// .mdir file name: i<UID, 8 digits>-<internal date, Unix epoch>-<flag letters S A F D T>.msg.
// Tolerated: any number of UID digits, letters in any order or case.
struct MdirName {
  std::uint32_t uid = 0;
  std::int64_t epoch = 0;
  Flags flags = 0;
};

std::optional<MdirName> parse_mdir_name(std::string_view name) {
  constexpr std::string_view kSuffix = ".msg";
  if (!name.starts_with('i') || !name.ends_with(kSuffix)) return std::nullopt;
  std::string_view rest = name.substr(1, name.size() - 1 - kSuffix.size());
  const std::size_t dash1 = rest.find('-');
  const std::size_t dash2 = dash1 == std::string_view::npos ? dash1 : rest.find('-', dash1 + 1);
  if (dash2 == std::string_view::npos) return std::nullopt;
  const auto uid = parse_uid(rest.substr(0, dash1));
  const auto epoch = parse_decimal(rest.substr(dash1 + 1, dash2 - dash1 - 1), 12);
  if (!uid || !epoch) return std::nullopt;
  MdirName out{.uid = *uid, .epoch = static_cast<std::int64_t>(*epoch)};
  for (const char c : rest.substr(dash2 + 1)) {
    switch (ascii_lower(c)) {
      case 's':
        out.flags |= kSeen;
        break;
      case 'a':
        out.flags |= kAnswered;
        break;
      case 'f':
        out.flags |= kFlagged;
        break;
      case 'd':
        out.flags |= kDeleted;
        break;
      case 't':
        out.flags |= kDraft;
        break;
      default:
        return std::nullopt;
    }
  }
  return out;
}

// ---- .mbox ----------------------------------------------------------------------

// Turns the line stream of a .mbox into messages. Sizes are counted per line
// as the lines pass, so one pass yields offsets, RFC822.SIZE and the unquoted
// size. The empty line before a separator is not part of the message, but it
// is only known to be that once the next line is seen: it is held back
// ("pending blank") and added to the message when the message goes on.
class MboxParser {
 public:
  MboxParser(const std::string& path, const OnMessage& on_message, const ProblemFn& problem, bool live)
      : path_(path), on_message_(on_message), problem_(problem), live_(live) {
    info_.file = path;
  }

  void add(const Line& line) {
    file_end_ = line.end();
    last_terminated_ = line.terminated;
    if (line.starts_with_from()) {
      const bool boundary = previous_empty_ || line.offset == 0;
      // Before the first message a "From " line with a date starts one even
      // without an empty line in front: the garbage is reported either way.
      if (boundary || state_ == State::kPreamble) {
        auto date = separator_date(line.head);
        if (boundary || date) {
          separator(line, date);
          return;
        }
      }
    }
    previous_empty_ = line.is_empty();
    switch (state_) {
      case State::kPreamble:
        return;
      case State::kStorage:
        if (apply_storage_line(line, info_)) {
          info_.data_offset = content_end_ = line.end();
          return;
        }
        state_ = State::kHeaders;
        [[fallthrough]];
      case State::kHeaders:
        if (line.is_empty()) {
          state_ = State::kBody;
        } else if (messages_ == 1 || !info_.internal_date) {
          inspect_header(line.head);
        }
        break;
      case State::kBody:
        break;
    }
    add_content(line);
  }

  void finish() {
    if (state_ != State::kPreamble) {
      end_message(!last_terminated_);
    } else if (file_end_ > 0) {
      report(
          Scope::Folder, 0, std::nullopt,
          fmt::format("{} bytes but no message separator (\"From \" line after an empty line): not a mailbox "
                      "in the expected format",
                      file_end_));
    }
  }

 private:
  enum class State : std::uint8_t { kPreamble, kStorage, kHeaders, kBody };

  void separator(const Line& line, const std::optional<DateTime>& date) {
    if (state_ != State::kPreamble) {
      end_message(false);
    } else if (line.offset > 0) {
      report(Scope::Message, 0, 1,
             fmt::format("{} bytes before the first message at offset 0 are not a message", line.offset));
    }
    ++messages_;
    state_ = State::kStorage;
    previous_empty_ = false;
    separator_line_ = line.number;
    info_.id = std::to_string(line.offset);
    info_.offset = line.offset;
    info_.flags = 0;
    info_.keywords.clear();
    info_.internal_date = date;  // when it does not parse, the Date: header may stand in
    info_.uid.reset();
    info_.data_offset = content_end_ = line.end();
    quoted_ = bare_lfs_ = 0;
    blank_pending_ = false;
    pseudo_ = false;
  }

  void add_content(const Line& line) {
    if (blank_pending_) {
      content_end_ = blank_end_;
      bare_lfs_ += blank_bare_lf_;
      blank_pending_ = false;
    }
    if (line.is_empty()) {
      blank_pending_ = true;
      blank_end_ = line.end();
      blank_bare_lf_ = line.bare_lf();
      return;
    }
    content_end_ = line.end();
    bare_lfs_ += line.bare_lf();
    if (line.quoted_from) ++quoted_;
  }

  void inspect_header(std::string_view head) {
    if (messages_ == 1 && is_pseudo_message_header(head)) pseudo_ = true;
    if (!info_.internal_date && starts_with_ci(head, "Date:")) {
      info_.internal_date = parse_rfc5322_date(trim(head.substr(5)));
    }
  }

  void end_message(bool truncated) {
    info_.data_length = content_end_ - info_.data_offset;
    info_.stored_size = info_.data_length - quoted_;
    info_.size = info_.stored_size + bare_lfs_;
    if (pseudo_) return;
    if (truncated && live_) {
      // The running server is still appending it: copying it now would put
      // half a message on the target. The next sync takes it whole.
      spdlog::warn(
          "{} (offset {}): last message still being written by the live server: left for the next sync",
          path_, info_.offset);
      return;
    }
    if (truncated) {
      const bool empty = info_.data_length == 0;
      report(Scope::Message, info_.offset, separator_line_,
             empty ? "message truncated: file ends inside its separator or storage lines; nothing to deliver"
                   : "message truncated: file ends inside the message");
      if (empty) return;
    }
    on_message_(info_);
  }

  void report(Scope scope, std::uint64_t offset, std::optional<std::uint64_t> line,
              std::string message) const {
    problem_(Problem{.scope = scope,
                     .file = path_,
                     .offset = offset,
                     .line = line ? line_number(*line) : std::nullopt,
                     .message = std::move(message)});
  }

  const std::string& path_;
  const OnMessage& on_message_;
  const ProblemFn& problem_;
  bool live_ = false;
  State state_ = State::kPreamble;
  bool previous_empty_ = false;
  bool last_terminated_ = true;
  std::uint64_t file_end_ = 0;
  std::uint64_t messages_ = 0;  // separators seen
  std::uint64_t separator_line_ = 0;
  MessageInfo info_;               // the current message, reused to spare allocations
  std::uint64_t content_end_ = 0;  // end of the message's last line taken
  std::uint64_t quoted_ = 0;       // quoted "From " lines: one byte less each when read
  std::uint64_t bare_lfs_ = 0;     // LFs without CR: one byte more each in RFC822.SIZE
  bool blank_pending_ = false;
  std::uint64_t blank_end_ = 0;
  std::uint64_t blank_bare_lf_ = 0;
  bool pseudo_ = false;
};

// ---- .mdir ----------------------------------------------------------------------

struct MdirEntry {
  std::string name;
  std::optional<MdirName> parsed;
};

// Regular files of the directory; symlinks and other entries are reported.
std::vector<MdirEntry> list_mdir(int dir_fd, const std::string& path, const ProblemFn& problem) {
  const int list_fd = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);  // closedir() closes the one it is given
  if (list_fd < 0) throw IoError(path, errno, "cannot read directory");
  DIR* dir = ::fdopendir(list_fd);
  if (dir == nullptr) {
    const int err = errno;
    ::close(list_fd);
    throw IoError(path, err, "cannot read directory");
  }
  const std::unique_ptr<DIR, int (*)(DIR*)> guard(dir, ::closedir);
  std::vector<MdirEntry> out;
  errno = 0;
  while (const dirent* e = ::readdir(dir)) {  // NOLINT(concurrency-mt-unsafe): one DIR per call
    const std::string_view name = e->d_name;
    if (name.starts_with('.')) continue;  // ".", ".." and hidden files are no messages
    unsigned char type = e->d_type;
    if (type == DT_UNKNOWN) {
      struct stat st {};
      if (::fstatat(dir_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        type = S_ISREG(st.st_mode) ? DT_REG : S_ISLNK(st.st_mode) ? DT_LNK : DT_UNKNOWN;
      }
    }
    if (type == DT_REG) {
      out.push_back(MdirEntry{std::string(name), parse_mdir_name(name)});
    } else {
      problem(Problem{.scope = Scope::Message,
                      .file = fs::join(path, std::string(name)),
                      .message = type == DT_LNK ? "symbolic link in a .mdir mailbox: not followed"
                                                : "not a regular file in a .mdir mailbox: ignored"});
    }
    errno = 0;
  }
  if (errno != 0) throw IoError(path, errno, "cannot read directory");
  // Names without a UID go last; the name breaks ties deterministically.
  const auto uid_key = [](const MdirEntry& entry) {
    return entry.parsed ? std::uint64_t{entry.parsed->uid} : std::uint64_t{1} << 32U;
  };
  std::sort(out.begin(), out.end(), [&](const MdirEntry& a, const MdirEntry& b) {
    const std::uint64_t ua = uid_key(a);
    const std::uint64_t ub = uid_key(b);
    return ua != ub ? ua < ub : a.name < b.name;
  });
  return out;
}

// Size facts of one message file, read once from start to end.
struct MdirSizes {
  std::uint64_t stored = 0;
  std::uint64_t rfc822 = 0;
};

MdirSizes measure(int fd, const std::string& path, std::span<char> buffer) {
  CrlfCounter counter;
  std::uint64_t total = 0;
  while (const std::size_t n = read_some(fd, buffer.data(), buffer.size(), path, total)) {
    counter.feed(std::string_view(buffer.data(), n));
    total += n;
  }
  return {total, counter.size()};
}

}  // namespace

// ---- public API -------------------------------------------------------------------

MboxFile::MboxFile(std::string path) : path_(std::move(path)) {}

MboxFile::MboxFile(std::string path, std::size_t scan_buffer, std::size_t read_buffer)
    : path_(std::move(path)), scan_buffer_(scan_buffer), read_buffer_(read_buffer) {}

void MboxFile::scan(const std::function<void(const MessageInfo&)>& on_message, const ProblemFn& problem) {
  const auto fail = [&](const IoError& e) {
    problem(Problem{.scope = Scope::Folder, .file = path_, .offset = e.offset(), .message = e.what()});
  };
  OpenedFile file;
  try {
    file = open_regular_file(AT_FDCWD, path_.c_str(), path_);
  } catch (const IoError& e) {
    fail(e);
    return;
  }
  // Only a hint for read-ahead; a failure changes nothing.
  (void)::posix_fadvise(file.fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  LineScanner scanner(file.fd.get(), path_, scan_buffer_);
  MboxParser parser(path_, on_message, problem, live_);
  Line line;
  for (;;) {
    try {
      if (!scanner.next(line)) break;
    } catch (const IoError& e) {
      fail(e);  // the message being read is dropped: its end is unknown
      return;
    }
    parser.add(line);
  }
  parser.finish();
}

std::unique_ptr<ByteReader> MboxFile::open(const MessageInfo& message) const {
  OpenedFile file = open_regular_file(AT_FDCWD, path_.c_str(), path_);
  return std::make_unique<MboxRangeReader>(std::move(file.fd), path_, message.data_offset,
                                           message.data_length, true, read_buffer_);
}

MdirDirectory::MdirDirectory(std::string path) : path_(std::move(path)) {}

void MdirDirectory::scan(const std::function<void(const MessageInfo&)>& on_message,
                         const ProblemFn& problem) {
  const auto report = [&](Scope scope, const std::string& file, std::string message) {
    problem(Problem{.scope = scope, .file = file, .message = std::move(message)});
  };
  const UniqueFd dir(::open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  std::vector<MdirEntry> entries;
  try {
    if (dir.get() < 0) throw IoError(path_, errno, "cannot open directory");
    entries = list_mdir(dir.get(), path_, problem);
  } catch (const IoError& e) {
    report(Scope::Folder, path_, e.what());
    return;
  }
  constexpr std::size_t kBuffer = std::size_t{256} << 10U;
  const auto buffer = std::make_unique_for_overwrite<char[]>(kBuffer);
  MessageInfo info;
  for (const MdirEntry& entry : entries) {
    const std::string file = fs::join(path_, entry.name);
    MdirSizes sizes;
    try {
      const OpenedFile opened = open_regular_file(dir.get(), entry.name.c_str(), file);
      sizes = measure(opened.fd.get(), file, std::span<char>(buffer.get(), kBuffer));
    } catch (const IoError& e) {
      report(Scope::Message, file, e.what());
      continue;
    }
    if (sizes.stored == 0 && live_) {
      spdlog::warn("{}: empty message file, still being written by the live server: left for the next sync",
                   file);
      continue;
    }
    if (sizes.stored == 0) {
      report(Scope::Message, file, "empty message file (0 bytes): not delivered");
      continue;
    }
    if (!entry.parsed) {
      report(Scope::Message, file,
             "file name is not i<UID>-<epoch>-<flags>.msg: delivered without UID, internal date and flags");
    }
    info = MessageInfo{.id = entry.name,
                       .file = file,
                       .size = sizes.rfc822,
                       .stored_size = sizes.stored,
                       .data_length = sizes.stored};
    if (entry.parsed) {
      info.uid = entry.parsed->uid;
      info.flags = entry.parsed->flags;
      info.internal_date = DateTime{entry.parsed->epoch, 0};
    }
    on_message(info);
  }
}

std::unique_ptr<ByteReader> MdirDirectory::open(const MessageInfo& message) const {
  // The id is a bare file name from scan(); never let it reach outside the directory.
  if (message.id.empty() || message.id.find('/') != std::string::npos || message.id.starts_with('.')) {
    throw IoError(fs::join(path_, message.id), EINVAL, "not a message of this mailbox");
  }
  const std::string file = fs::join(path_, message.id);
  OpenedFile opened = open_regular_file(AT_FDCWD, file.c_str(), file);
  return std::make_unique<MboxRangeReader>(std::move(opened.fd), file, message.data_offset,
                                           message.data_length, false);
}

}  // namespace mailmig::cgp
