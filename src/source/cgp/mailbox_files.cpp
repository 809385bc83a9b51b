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
#include "core/file_read.h"
#include "core/fs.h"
#include "core/text_fields.h"
#include "format/cgp/mdir_name.h"
#include "format/mbox/lines.h"
#include "format/mbox/message_meter.h"
#include "format/mbox/message_reader.h"
#include "format/mbox/separator.h"
#include "format/mbox/storage_headers.h"

namespace mailmig::cgp {

using mbox::Line;
using mbox::LineScanner;
namespace {

using OnMessage = std::function<void(const MessageInfo&)>;

std::optional<std::uint32_t> line_number(std::uint64_t number) {
  if (number == 0 || number > std::numeric_limits<std::uint32_t>::max()) return std::nullopt;
  return static_cast<std::uint32_t>(number);
}

// The storage lines directly after a separator: X-UID, Status, X-Status and
// (a tolerated variant) X-Keywords, in any order, read by the one mbox codec
// (format/mbox/storage_headers.h). Applies one to `info`; false when `line`
// is none of them, i.e. the message itself begins.
bool apply_storage_line(const Line& line, MessageInfo& info) {
  const std::string_view value = mbox::header_value(line.head);
  switch (mbox::classify_header(line.head)) {
    case mbox::StorageHeader::XUid:
      if (auto uid = mbox::parse_uid(value)) info.uid = uid;
      return true;
    case mbox::StorageHeader::Status:
      info.flags |= mbox::status_flags(value);
      return true;
    case mbox::StorageHeader::XStatus:
      info.flags |= mbox::x_status_flags(value);
      return true;
    case mbox::StorageHeader::XKeywords:
      mbox::add_keywords(value, line.length == line.head.size(), info.keywords);
      return true;
    default:
      return false;
  }
}

// ---- .mbox ----------------------------------------------------------------------

// Turns the line stream of a .mbox into messages; sizes are counted by the
// mbox codec's MessageMeter as the lines pass.
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
        auto date = mbox::separator_date(line.head);
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
          meter_.skip_leading(line);
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
    meter_.add(line);
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
    mbox::start_message_info(info_, line, date);
    meter_.start(line.end());
    pseudo_ = false;
  }

  void inspect_header(std::string_view head) {
    if (messages_ == 1 && mbox::is_pseudo_message_header(head)) pseudo_ = true;
    if (!info_.internal_date && starts_with_ci(head, "Date:")) {
      info_.internal_date = parse_rfc5322_date(mbox::header_value(head));
    }
  }

  void end_message(bool truncated) {
    meter_.finish(info_, mbox::Unquote::All);  // CommuniGate quotes as mboxrd
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
  MessageInfo info_;  // the current message, reused to spare allocations
  mbox::MessageMeter meter_;
  bool pseudo_ = false;
};

// ---- .mdir ----------------------------------------------------------------------

struct MdirEntry {
  std::string name;
  std::optional<MdirFileName> parsed;
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
      out.push_back(MdirEntry{std::string(name), parse_mdir_file_name(name)});
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
  return std::make_unique<mbox::MboxMessageReader>(
      std::move(file.fd), path_,
      std::vector<mbox::ByteRange>{{.offset = message.data_offset, .length = message.data_length}},
      mbox::Unquote::All, read_buffer_);
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
  return std::make_unique<mbox::MboxMessageReader>(
      std::move(opened.fd), file,
      std::vector<mbox::ByteRange>{{.offset = message.data_offset, .length = message.data_length}},
      mbox::Unquote::None);
}

}  // namespace mailmig::cgp
