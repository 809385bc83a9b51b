#include "source/mbox/mbox_folder.h"

#include <fcntl.h>

#include "core/error.h"
#include "core/file_read.h"
#include "format/mbox/lines.h"
#include "format/mbox/message_reader.h"

namespace mailmig::mbox {
namespace {

// A header longer than this is not one a server wrote its facts into.
constexpr std::size_t kMaxPeekLines = 10000;

}  // namespace

FilePeek peek_file(const std::string& path) {
  OpenedFile file = open_regular_file(AT_FDCWD, path.c_str(), path);
  FilePeek out;
  out.empty = file.size == 0;
  constexpr std::size_t kBuffer = std::size_t{64} << 10U;
  LineScanner scanner(file.fd.get(), path, kBuffer);
  Line line;
  if (!scanner.next(line) || !line.starts_with_from()) return out;
  out.mbox = true;
  for (std::size_t i = 0; i < kMaxPeekLines && scanner.next(line) && !line.is_empty(); ++i) {
    const StorageHeader kind = classify_header(line.head);
    if (kind != StorageHeader::XImap && kind != StorageHeader::XImapBase) continue;
    out.facts.managed = true;
    out.facts.base = parse_imap_base(header_value(line.head));
  }
  return out;
}

MboxFolder::MboxFolder(std::string path, MboxFormat format, std::size_t scan_buffer)
    : path_(std::move(path)), format_(format), scan_buffer_(scan_buffer) {}

ReadRules MboxFolder::rules() const {
  std::call_once(rules_once_, [this] {
    rules_ = format_ == MboxFormat::Auto ? read_rules(format_, peek_file(path_).facts.managed)
                                         : read_rules(format_, false);
  });
  return rules_;
}

void MboxFolder::scan(const std::function<void(const MessageInfo&)>& on_message, const ProblemFn& problem) {
  const auto fail = [&](const IoError& e) {
    problem(Problem{.scope = Scope::Folder, .file = path_, .offset = e.offset(), .message = e.what()});
  };
  OpenedFile file;
  FilePeek peek;
  ReadRules read_rules_now;
  try {
    peek = peek_file(path_);
    read_rules_now = rules();
    file = open_regular_file(AT_FDCWD, path_.c_str(), path_);
  } catch (const IoError& e) {
    fail(e);
    return;
  }
  // Only a hint for read-ahead; a failure changes nothing.
  (void)::posix_fadvise(file.fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  const int fd = file.fd.get();
  const std::string& path = path_;
  MboxParser parser(
      path_, file.size, read_rules_now, peek.facts,
      [fd, &path](std::uint64_t offset, std::size_t length) {
        std::string bytes(length, '\0');
        bytes.resize(pread_some(fd, bytes.data(), length, offset, path));
        return bytes;
      },
      on_message, problem);
  LineScanner scanner(fd, path_, scan_buffer_);
  Line line;
  try {
    while (scanner.next(line)) parser.add(line);
  } catch (const IoError& e) {
    fail(e);  // the message being read is dropped: its end is unknown
    return;
  }
  parser.finish();
}

std::unique_ptr<ByteReader> MboxFolder::open(const MessageInfo& message) const {
  OpenedFile file = open_regular_file(AT_FDCWD, path_.c_str(), path_);
  std::vector<ByteRange> ranges =
      delivered_ranges(file.fd.get(), path_, message.data_offset, message.data_length);
  return std::make_unique<MboxMessageReader>(std::move(file.fd), path_, std::move(ranges), rules().unquote);
}

}  // namespace mailmig::mbox
