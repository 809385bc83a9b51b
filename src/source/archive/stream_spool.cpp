#include "source/archive/stream_spool.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "core/error.h"
#include "core/fs.h"
#include "core/unique_fd.h"
#include "source/archive/archive_reader.h"
#include "source/archive/catalogue.h"

namespace mailmig::archive {
namespace {

constexpr std::size_t kBuffer = std::size_t{256} << 10U;

// The directory that holds entry `parts` (all but the last component), made
// as needed, every step opened with O_NOFOLLOW: a symbolic link the stream
// put in the spool is never followed by a later entry ("link/file").
UniqueFd open_parent(int root, const std::vector<std::string>& parts, const std::string& spool) {
  UniqueFd dir(::fcntl(root, F_DUPFD_CLOEXEC, 0));
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    const char* name = parts[i].c_str();
    if (::mkdirat(dir.get(), name, 0700) != 0 && errno != EEXIST)
      throw IoError(spool, errno, "cannot create a directory");
    UniqueFd sub(::openat(dir.get(), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (sub.get() < 0)
      throw IoError(spool, errno, fmt::format("cannot enter the spooled directory \"{}\"", parts[i]));
    dir = std::move(sub);
  }
  return dir;
}

bool safe_path(const std::vector<std::string>& parts) {
  if (parts.empty()) return false;
  for (const std::string& part : parts) {
    if (part == "..") return false;
  }
  return true;
}

}  // namespace

bool spooled_path(std::string_view path) {
  if (is_metadata_path(path)) return true;
  const std::vector<std::string> parts = fs::path_components(path);
  if (parts.size() >= 2 && (parts[parts.size() - 2] == "cur" || parts[parts.size() - 2] == "new"))
    return true;
  for (const std::string& part : parts) {
    if (part.ends_with(".mbox") || part.ends_with(".mdir") || part.ends_with(".macnt")) return true;
  }
  return false;
}

StreamSpool::~StreamSpool() {
  if (directory.empty()) return;
  std::error_code ec;  // remove_all does not follow the links the stream put there
  std::filesystem::remove_all(directory, ec);
  if (ec) spdlog::warn("cannot remove the spool {}: {}", directory, ec.message());
}

int spool_owner_pid(std::string_view name) {
  constexpr std::string_view kPrefix = "mailmig-stream-";
  if (!name.starts_with(kPrefix)) return 0;
  name.remove_prefix(kPrefix.size());
  const std::size_t dash = name.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash > 9) return 0;
  int pid = 0;
  for (const char c : name.substr(0, dash)) {
    if (c < '0' || c > '9') return 0;
    pid = pid * 10 + (c - '0');
  }
  return pid;
}

namespace {

// Removes the spools of our runs that were killed before they could (their
// PID no longer exists). A live PID, even a reused one, keeps its directory.
void remove_abandoned_spools(const std::string& dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const int pid = spool_owner_pid(entry.path().filename().native());
    struct stat st {};
    if (pid <= 0 || pid == ::getpid() || ::lstat(entry.path().c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
        st.st_uid != ::geteuid() || ::kill(pid, 0) == 0 || errno != ESRCH) {
      continue;
    }
    std::error_code removed;
    std::filesystem::remove_all(entry.path(), removed);
    if (removed)
      spdlog::warn("cannot remove {}, the spool of a run that was killed: {}", entry.path().native(),
                   removed.message());
    else
      spdlog::info("removed {}, the spool of a run that was killed (PID {})", entry.path().native(), pid);
  }
}

// A new spool directory, named for this run, and an O_NOFOLLOW descriptor of it.
UniqueFd make_spool_directory(StreamSpool& spool) {
  remove_abandoned_spools(fs::temp_dir());
  std::string pattern = fmt::format("{}/mailmig-stream-{}-XXXXXX", fs::temp_dir(), ::getpid());
  if (::mkdtemp(pattern.data()) == nullptr)
    throw IoError(fs::temp_dir(), errno, "cannot create a spool directory");
  spool.directory = pattern;  // mkdtemp made it 0700
  UniqueFd root(::open(pattern.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (root.get() < 0) throw IoError(pattern, errno, "cannot open the spool directory");
  return root;
}

// The one pass: each entry of the stream written into the spool, or counted, or reported.
class SpoolWriter {
 public:
  SpoolWriter(ArchiveReader& reader, StreamSpool& spool, int root, const std::string& shown)
      : reader_(reader), spool_(spool), root_(root), shown_(shown) {}

  void run();

 private:
  bool next_header(EntryHeader& header);
  bool spool_entry(const EntryHeader& header);
  void write_entry(const EntryHeader& header, const std::vector<std::string>& parts);
  void make_directory(int parent, const std::string& name);
  void make_symlink(int parent, const std::string& name, const EntryHeader& header);
  void make_hard_link(int parent, const std::string& name, const EntryHeader& header);
  void write_file(int parent, const std::string& name, const EntryHeader& header);
  void problem(const std::string& entry, std::uint64_t offset, const std::string& message);

  ArchiveReader& reader_;
  StreamSpool& spool_;
  const int root_;
  const std::string& shown_;
  const std::unique_ptr<char[]> buffer_ = std::make_unique_for_overwrite<char[]>(kBuffer);
};

void SpoolWriter::problem(const std::string& entry, std::uint64_t offset, const std::string& message) {
  spool_.problems.push_back(Problem{.scope = Scope::Store,
                                    .file = entry.empty() ? shown_ : entry_location(shown_, entry),
                                    .offset = offset,
                                    .message = message});
}

void SpoolWriter::run() {
  EntryHeader header;
  while (next_header(header)) {
    if (spool_.format.empty()) spool_.format = reader_.describe_format();
    if (!spool_entry(header)) break;
  }
  if (spool_.format.empty()) spool_.format = reader_.describe_format();
}

// The next readable header, damaged ones reported and passed over; false at the
// end of the stream or when it cannot be read on.
bool SpoolWriter::next_header(EntryHeader& header) {
  constexpr int kMaxRetries = 1000;  // as the catalogue pass: damaged headers in a row
  int retries = 0;
  for (;;) {
    try {
      return reader_.next(header);
    } catch (const ArchiveError& e) {
      problem("", e.offset(), e.detail());
      if (e.fatal() || ++retries > kMaxRetries) return false;
    }
  }
}

// False when the stream cannot be read on.
bool SpoolWriter::spool_entry(const EntryHeader& header) {
  const std::vector<std::string> parts = fs::path_components(header.path);
  if (!safe_path(parts)) {
    if (!header.path.empty())
      problem(header.path, reader_.offset(), "entry name climbs out of the archive (\"..\"): skipped");
    return true;
  }
  if (header.type == EntryType::File && !spooled_path(header.path)) {
    ++spool_.skipped_files;
    spool_.skipped_bytes += header.size;
    return true;  // its data is skipped by next()
  }
  if (header.type == EntryType::Other) return true;
  try {
    write_entry(header, parts);
  } catch (const ArchiveError& e) {
    problem(header.path, e.offset(), e.detail());
    return !e.fatal();
  } catch (const IoError& e) {
    problem(header.path, reader_.offset(), e.what());
  }
  return true;
}

void SpoolWriter::write_entry(const EntryHeader& header, const std::vector<std::string>& parts) {
  const UniqueFd parent = open_parent(root_, parts, spool_.directory);
  const std::string& name = parts.back();
  switch (header.type) {
    case EntryType::Directory:
      make_directory(parent.get(), name);
      break;
    case EntryType::Symlink:
      make_symlink(parent.get(), name, header);
      break;
    case EntryType::Hardlink:
      make_hard_link(parent.get(), name, header);
      break;
    case EntryType::File:
      write_file(parent.get(), name, header);
      break;
    case EntryType::Other:
      break;
  }
}

void SpoolWriter::make_directory(int parent, const std::string& name) {
  if (::mkdirat(parent, name.c_str(), 0700) != 0 && errno != EEXIST) {
    throw IoError(spool_.directory, errno, "cannot create a directory");
  }
}

void SpoolWriter::make_symlink(int parent, const std::string& name, const EntryHeader& header) {
  (void)::unlinkat(parent, name.c_str(), 0);  // a later copy of a name wins, as on extraction
  if (::symlinkat(header.link_target.c_str(), parent, name.c_str()) != 0) {
    throw IoError(spool_.directory, errno, "cannot create a symbolic link");
  }
}

void SpoolWriter::make_hard_link(int parent, const std::string& name, const EntryHeader& header) {
  const std::vector<std::string> target = fs::path_components(header.link_target);
  if (!safe_path(target)) throw IoError(header.link_target, EINVAL, "hard link climbs out of the archive");
  const UniqueFd target_parent = open_parent(root_, target, spool_.directory);
  (void)::unlinkat(parent, name.c_str(), 0);
  if (::linkat(target_parent.get(), target.back().c_str(), parent, name.c_str(), 0) == 0) return;
  if (errno != ENOENT) throw IoError(spool_.directory, errno, "cannot create a hard link");
  // The first name's data was not kept (no layout reads that place) and the
  // stream is past it: harmless unless this name is read as mail.
  if (spooled_path(header.path)) {
    throw IoError(header.link_target, ENOENT,
                  "hard link to a file whose data a one-pass read did not keep; read the "
                  "archive file or directory instead");
  }
}

void SpoolWriter::write_file(int parent, const std::string& name, const EntryHeader& header) {
  (void)::unlinkat(parent, name.c_str(), 0);
  const UniqueFd file(
      ::openat(parent, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (file.get() < 0) throw IoError(spool_.directory, errno, "cannot create a spool file");
  std::uint64_t written = 0;
  try {
    while (const std::size_t n = reader_.read(std::span<char>(buffer_.get(), kBuffer))) {
      fs::write_all(file.get(), std::string_view(buffer_.get(), n), spool_.directory);
      written += n;
    }
  } catch (...) {
    // A message cut short is no message: its name is not left behind.
    (void)::unlinkat(parent, name.c_str(), 0);
    throw;
  }
  const std::array<timespec, 2> times{timespec{.tv_sec = header.mtime, .tv_nsec = 0},
                                      timespec{.tv_sec = header.mtime, .tv_nsec = 0}};
  (void)::futimens(file.get(), times.data());
  spool_.bytes += written;
  ++spool_.files;
}

}  // namespace

std::unique_ptr<StreamSpool> spool_stream(const std::string& path, const std::string& shown) {
  ArchiveReader reader(path, shown);
  auto spool = std::make_unique<StreamSpool>();
  const UniqueFd root = make_spool_directory(*spool);
  SpoolWriter(reader, *spool, root.get(), shown).run();
  spdlog::info(
      "{}: read in one pass; {} bytes in {} files spooled to {} (private, removed at exit); {} other files "
      "({} bytes) no layout reads were not kept",
      shown, spool->bytes, spool->files, spool->directory, spool->skipped_files, spool->skipped_bytes);
  return spool;
}

}  // namespace mailmig::archive
