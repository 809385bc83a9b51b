// The local file system behind the FileTree interface: the rules every
// on-disk source keeps (O_RDONLY|O_NOFOLLOW|O_NONBLOCK opens, regular files
// only) come from the CommuniGate readers' file helpers.
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>

#include <array>

#include "core/error.h"
#include "core/file_read.h"
#include "format/mbox/message_reader.h"
#include "source/tree/file_tree.h"

namespace mailmig {
namespace {

fs::Type type_of(mode_t mode) {
  if (S_ISREG(mode)) return fs::Type::File;
  if (S_ISDIR(mode)) return fs::Type::Directory;
  if (S_ISLNK(mode)) return fs::Type::Symlink;
  return fs::Type::Other;
}

class LocalTree final : public FileTree, public std::enable_shared_from_this<LocalTree> {
 public:
  std::vector<TreeEntry> list(const std::string& directory) override {
    std::vector<TreeEntry> out;
    for (fs::Entry& entry : fs::list_directory(directory))
      out.push_back(TreeEntry{.name = std::move(entry.name), .type = entry.type});
    return out;
  }

  std::optional<TreeStat> stat(const std::string& path) override {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;
    return TreeStat{.type = type_of(st.st_mode),
                    .size = static_cast<std::uint64_t>(st.st_size),
                    .mtime = static_cast<std::int64_t>(st.st_mtim.tv_sec)};
  }

  std::string read_small(const std::string& path, std::uint64_t max_size) override {
    return read_small_file(path, max_size);
  }

  OpenedStream open(const std::string& path, std::optional<std::uint64_t> length) override {
    OpenedFile file = open_regular_file(AT_FDCWD, path.c_str(), path);
    struct stat st {};
    if (::fstat(file.fd.get(), &st) != 0) throw IoError(path, errno, "cannot stat");
    const auto size = static_cast<std::uint64_t>(st.st_size);
    // The format layer's range reader, with nothing to un-quote: bytes as stored.
    auto reader = std::make_unique<mbox::MboxMessageReader>(
        std::move(file.fd), path,
        std::vector<mbox::ByteRange>{{.offset = 0, .length = length.value_or(size)}}, mbox::Unquote::None);
    return OpenedStream{
        .reader = std::move(reader), .size = size, .mtime = static_cast<std::int64_t>(st.st_mtim.tv_sec)};
  }

  std::optional<std::string> real_path(const std::string& path) override { return fs::real_path(path); }

  std::optional<std::string> owner_name(const std::string& path) override {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;
    std::array<char, 4096> buffer{};
    passwd entry{};
    passwd* result = nullptr;
    if (::getpwuid_r(st.st_uid, &entry, buffer.data(), buffer.size(), &result) != 0 || result == nullptr) {
      return std::nullopt;
    }
    return std::string(result->pw_name);
  }

  std::shared_ptr<FileTree> for_account() override { return shared_from_this(); }
};

}  // namespace

std::shared_ptr<FileTree> local_file_tree() {
  static const std::shared_ptr<FileTree> tree = std::make_shared<LocalTree>();
  return tree;
}

}  // namespace mailmig
