#include "target/maildir/keywords_file.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <array>
#include <cerrno>

#include "core/error.h"
#include "core/fs.h"

namespace mailmig::maildir {

Keywords load_keywords(const std::string& folder_dir) {
  const auto text = read_small_file(fs::join(folder_dir, "dovecot-keywords"));
  return text ? Keywords::parse(*text) : Keywords{};
}

void save_keywords(Keywords& keywords, const std::string& folder_dir, bool sync, const Owner& owner) {
  if (!keywords.changed()) return;
  const std::string path = fs::join(folder_dir, "dovecot-keywords");
  // Dovecot removes a left-over dovecot-keywords.lock first: the file is only
  // written under the uidlist lock, which we hold, so the old one is dead.
  const std::string lock = path + ".lock";
  struct stat before {};
  const bool existed = ::stat(path.c_str(), &before) == 0;
  replace_file(lock, path, keywords.format(), sync, owner);
  struct stat after {};
  if (existed && ::stat(path.c_str(), &after) == 0 && after.st_mtime <= before.st_mtime) {
    const std::array<timespec, 2> times{timespec{.tv_sec = 0, .tv_nsec = UTIME_OMIT},
                                        timespec{.tv_sec = before.st_mtime + 1, .tv_nsec = 0}};
    if (::utimensat(AT_FDCWD, path.c_str(), times.data(), AT_SYMLINK_NOFOLLOW) != 0) {
      throw IoError(path, errno, "cannot set the modification time");
    }
  }
  keywords.mark_saved();
}

}  // namespace mailmig::maildir
