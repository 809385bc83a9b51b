#include "source/archive/archive_reader.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "core/error.h"
#include "source/archive/directory_entries.h"

namespace mailmig::archive {
namespace {

// libarchive's read block for files; big enough that decompression, not
// system calls, is the cost.
constexpr std::size_t kBlockSize = std::size_t{1} << 20U;

std::string error_text(::archive* handle) {
  const char* text = ::archive_error_string(handle);
  return text != nullptr ? text : "unknown error";
}

}  // namespace

std::string normalize_entry_path(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    std::size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view part = path.substr(pos, end - pos);
    if (!part.empty() && part != ".") parts.push_back(part);
    pos = end + 1;
  }
  std::string out;
  for (const std::string_view part : parts) {
    if (!out.empty()) out += '/';
    out += part;
  }
  return out;
}

ArchiveReader::ArchiveReader(const std::string& path, const std::string& shown)
    : path_(shown.empty() ? path : shown) {
  if (path != "-") {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      directory_ = std::make_unique<DirectoryEntries>(path);
      return;
    }
  }
  // Opened by us, read-only, so nothing libarchive does can write to the backup.
  const int fd =
      path == "-" ? ::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0) : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw ArchiveError(path_, fmt::format("cannot open: {}", mailmig::error_text(errno)), 0, true);
  handle_ = ::archive_read_new();
  if (handle_ == nullptr) {
    ::close(fd);
    throw ArchiveError(path_, "out of memory", 0, true);
  }
  ::archive_read_support_filter_all(handle_);
  ::archive_read_support_format_all(handle_);
  // archive_read_open_fd leaves the descriptor to us: it is closed below, after archive_read_free.
  fd_ = fd;
  if (::archive_read_open_fd(handle_, fd, kBlockSize) != ARCHIVE_OK) {
    const std::string why = error_text(handle_);
    ::archive_read_free(handle_);
    handle_ = nullptr;
    ::close(fd_);
    fd_ = -1;
    throw ArchiveError(path_, fmt::format("not an archive libarchive can read: {}", why), 0, true);
  }
}

ArchiveReader::~ArchiveReader() {
  if (handle_ != nullptr) ::archive_read_free(handle_);
  if (fd_ >= 0) ::close(fd_);
}

std::uint64_t ArchiveReader::offset() const {
  if (directory_) return directory_->offset();
  const la_int64_t bytes = handle_ != nullptr ? ::archive_filter_bytes(handle_, -1) : 0;
  return bytes > 0 ? static_cast<std::uint64_t>(bytes) : 0;
}

std::string ArchiveReader::describe_format() const {
  if (directory_) return "directory";
  std::string out;
  const int filters = ::archive_filter_count(handle_);
  for (int i = 0; i < filters; ++i) {
    if (::archive_filter_code(handle_, i) == ARCHIVE_FILTER_NONE) continue;
    const char* name = ::archive_filter_name(handle_, i);
    if (name != nullptr) out += std::string(name) + " ";
  }
  const char* format = ::archive_format_name(handle_);
  out += format != nullptr ? format : "archive";
  return out;
}

void ArchiveReader::fail(const std::string& what, bool fatal) {
  if (fatal) failed_ = true;
  const std::string where =
      current_.empty() ? std::string("at its start") : fmt::format("in or after entry \"{}\"", current_);
  throw ArchiveError(path_,
                     fmt::format("{} {} (archive offset {}): {}", what, where, offset(), error_text(handle_)),
                     offset(), fatal);
}

bool ArchiveReader::next(EntryHeader& header) {
  if (failed_) throw ArchiveError(path_, "reading stopped at an earlier error", offset(), true);
  if (directory_) {
    if (!directory_->next(header)) return false;
    header.ordinal = next_ordinal_++;
    current_ = header.path;
    return true;
  }
  archive_entry* entry = nullptr;
  const int r = ::archive_read_next_header(handle_, &entry);
  if (r == ARCHIVE_EOF) return false;
  if (r == ARCHIVE_FATAL) fail("archive damaged", true);
  if (r == ARCHIVE_RETRY || entry == nullptr) fail("damaged entry header skipped", false);
  // ARCHIVE_WARN still delivers a usable entry (e.g. an unknown extended attribute).
  const char* name = ::archive_entry_pathname(entry);
  header.ordinal = next_ordinal_++;
  header.path = normalize_entry_path(name != nullptr ? name : "");
  current_ = header.path;
  header.size =
      ::archive_entry_size_is_set(entry) != 0 ? static_cast<std::uint64_t>(::archive_entry_size(entry)) : 0;
  header.mtime =
      ::archive_entry_mtime_is_set(entry) != 0 ? static_cast<std::int64_t>(::archive_entry_mtime(entry)) : 0;
  header.link_target.clear();
  if (const char* hard = ::archive_entry_hardlink(entry); hard != nullptr) {
    header.type = EntryType::Hardlink;
    header.link_target = normalize_entry_path(hard);
    return true;
  }
  switch (::archive_entry_filetype(entry)) {
    case AE_IFREG:
      header.type = EntryType::File;
      break;
    case AE_IFDIR:
      header.type = EntryType::Directory;
      break;
    case AE_IFLNK: {
      header.type = EntryType::Symlink;
      const char* target = ::archive_entry_symlink(entry);
      header.link_target = target != nullptr ? target : "";
      break;
    }
    default:
      header.type = EntryType::Other;
      break;
  }
  return true;
}

std::size_t ArchiveReader::read(std::span<char> buffer) {
  if (failed_) throw ArchiveError(path_, "reading stopped at an earlier error", offset(), true);
  if (directory_) return directory_->read(buffer);
  for (;;) {
    const la_ssize_t n = ::archive_read_data(handle_, buffer.data(), buffer.size());
    if (n >= 0) return static_cast<std::size_t>(n);
    if (n == ARCHIVE_RETRY) continue;
    // Data that cannot be read leaves the stream at an unknown place: stop.
    fail("cannot read the data of the entry", true);
  }
}

}  // namespace mailmig::archive
