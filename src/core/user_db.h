// User and group names to ids (getpwnam_r/getgrnam_r: safe on any thread).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace mailmig {

struct UserIds {
  uid_t uid = 0;
  gid_t gid = 0;  // the user's primary group
};

std::optional<UserIds> lookup_user(const std::string& name);
std::optional<gid_t> lookup_group(const std::string& name);

}  // namespace mailmig
