#include "core/user_db.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace mailmig {
namespace {

std::size_t buffer_size(int which) {
  const long size = ::sysconf(which);
  return size > 0 ? static_cast<std::size_t>(size) : std::size_t{16384};
}

}  // namespace

std::optional<UserIds> lookup_user(const std::string& name) {
  std::vector<char> buffer(buffer_size(_SC_GETPW_R_SIZE_MAX));
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr)
    return std::nullopt;
  return UserIds{found->pw_uid, found->pw_gid};
}

std::optional<gid_t> lookup_group(const std::string& name) {
  // Groups with many members need more than the suggested size.
  for (std::size_t size = buffer_size(_SC_GETGR_R_SIZE_MAX); size <= (std::size_t{1} << 24U); size *= 4) {
    std::vector<char> buffer(size);
    group entry{};
    group* found = nullptr;
    const int rc = ::getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
    if (rc == ERANGE) continue;
    if (rc != 0 || found == nullptr) return std::nullopt;
    return found->gr_gid;
  }
  return std::nullopt;
}

}  // namespace mailmig
