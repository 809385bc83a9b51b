#include "target/maildir/keywords.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>

#include "core/error.h"
#include "core/fs.h"

namespace mailmig::maildir {

Keywords Keywords::parse(const std::string& text) {
  Keywords k;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    const std::size_t space = line.find(' ');
    if (space == std::string::npos || space + 1 == line.size()) continue;  // Dovecot skips these too
    std::size_t index = 0;
    const auto [ptr, ec] = std::from_chars(line.data(), line.data() + space, index);
    if (ec != std::errc() || ptr != line.data() + space || index >= kMax) continue;
    k.names_.at(index) = line.substr(space + 1);
  }
  return k;
}

Keywords Keywords::load(const std::string& folder_dir) {
  const auto text = read_small_file(fs::join(folder_dir, "dovecot-keywords"));
  return text ? parse(*text) : Keywords{};
}

std::optional<char> Keywords::letter(const std::string& name) const {
  for (std::size_t i = 0; i < kMax; ++i) {
    if (!names_.at(i).empty() && ::strcasecmp(names_.at(i).c_str(), name.c_str()) == 0) {
      return static_cast<char>('a' + i);
    }
  }
  return std::nullopt;
}

std::optional<std::string> Keywords::name(char letter) const {
  if (letter < 'a' || letter > 'z') return std::nullopt;
  const std::string& n = names_.at(static_cast<std::size_t>(letter - 'a'));
  if (n.empty()) return std::nullopt;
  return n;
}

std::optional<char> Keywords::assign(const std::string& name) {
  if (auto l = letter(name)) return l;
  for (std::size_t i = 0; i < kMax; ++i) {
    if (names_.at(i).empty()) {
      names_.at(i) = name;
      changed_ = true;
      return static_cast<char>('a' + i);
    }
  }
  return std::nullopt;
}

std::string Keywords::format() const {
  std::string out;
  for (std::size_t i = 0; i < kMax; ++i) {
    if (!names_.at(i).empty()) out += fmt::format("{} {}\n", i, names_.at(i));
  }
  return out;
}

void Keywords::save(const std::string& folder_dir, bool sync, const Owner& owner) {
  if (!changed_) return;
  const std::string path = fs::join(folder_dir, "dovecot-keywords");
  // Dovecot removes a left-over dovecot-keywords.lock first: the file is only
  // written under the uidlist lock, which we hold, so the old one is dead.
  const std::string lock = path + ".lock";
  struct stat before {};
  const bool existed = ::stat(path.c_str(), &before) == 0;
  replace_file(lock, path, format(), sync, owner);
  struct stat after {};
  if (existed && ::stat(path.c_str(), &after) == 0 && after.st_mtime <= before.st_mtime) {
    const std::array<timespec, 2> times{timespec{.tv_sec = 0, .tv_nsec = UTIME_OMIT},
                                        timespec{.tv_sec = before.st_mtime + 1, .tv_nsec = 0}};
    if (::utimensat(AT_FDCWD, path.c_str(), times.data(), AT_SYMLINK_NOFOLLOW) != 0) {
      throw IoError(path, errno, "cannot set the modification time");
    }
  }
  changed_ = false;
}

}  // namespace mailmig::maildir
