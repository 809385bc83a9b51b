#include "cli/state_location.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "core/ascii.h"
#include "core/sha256.h"

namespace mailmig::cli {

namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read before any thread starts
  return value != nullptr ? std::string(value) : std::string();
}

std::string short_hash(const std::string& text) {
  Sha256 h;
  h.update(text);
  return h.hex().substr(0, 16);
}

// Creates `dir` and its parents; the directory itself is made private.
void make_private_dir(const std::string& dir) {
  std::filesystem::create_directories(dir);
  if (::chmod(dir.c_str(), 0700) != 0) {
    throw std::runtime_error(fmt::format("cannot make {} private (mode 700)", dir));
  }
}

}  // namespace

std::string state_home() {
  if (std::string home = env("MAILMIG_STATE_HOME"); !home.empty()) return home;
  if (::geteuid() == 0) return "/var/lib/mailmig";
  if (std::string xdg = env("XDG_STATE_HOME"); !xdg.empty() && xdg.front() == '/') return xdg + "/mailmig";
  if (std::string home = env("HOME"); !home.empty() && home.front() == '/')
    return home + "/.local/state/mailmig";
  return fmt::format("/var/tmp/mailmig-{}", ::geteuid());
}

std::string spec_identity(const std::string& target_spec) {
  const std::size_t colon = target_spec.find(':');
  if (colon == std::string::npos) return target_spec;
  const std::string scheme = ascii_lower(target_spec.substr(0, colon));
  std::string rest = target_spec.substr(colon + 1);
  if (rest.starts_with("//")) {
    // scheme://host[:port][/...]: host names are case-insensitive.
    const std::size_t end = std::min(rest.find('/', 2), rest.size());
    return scheme + ":" + ascii_lower(rest.substr(0, end)) + rest.substr(end);
  }
  // "-" is standard input (archive:-), not a file of the working directory.
  if (!rest.empty() && rest != "-")
    rest = std::filesystem::weakly_canonical(std::filesystem::absolute(rest)).string();
  return scheme + ":" + rest;
}

std::string default_state_dir(const std::string& target_spec) {
  return state_home() + "/state/" + short_hash(spec_identity(target_spec));
}

std::string legacy_state_dir(const std::string& source_root, const std::string& target_spec) {
  Sha256 h;
  h.update(source_root);
  h.update("\n");
  h.update(target_spec);
  return "mailmig-state/" + h.hex().substr(0, 16);
}

std::string choose_state_dir(const std::string& explicit_dir, const std::string& source_spec,
                             const std::string& target_spec) {
  if (!explicit_dir.empty()) return explicit_dir;
  std::string dir = default_state_dir(target_spec);
  if (std::filesystem::exists(dir + "/state.sqlite")) return dir;
  const std::string root = source_spec.substr(source_spec.find(':') + 1);
  std::error_code ec;
  std::string legacy = legacy_state_dir(std::filesystem::weakly_canonical(root, ec).string(), target_spec);
  if (!ec && std::filesystem::exists(legacy + "/state.sqlite")) return legacy;
  return dir;
}

std::unique_ptr<LockFile> lock_state_dir(const std::string& dir) {
  make_private_dir(dir);
  std::string holder;
  std::unique_ptr<LockFile> lock = LockFile::try_lock(dir + "/lock", "mailmig run", holder);
  if (!lock) {
    throw std::runtime_error(
        fmt::format("the state {} is in use by another mailmig run ({}, holding the lock {}/lock); wait "
                    "for it to finish, then run the same command again",
                    dir, holder, dir));
  }
  return lock;
}

std::string account_lock_path(const std::string& target_spec, const std::string& target_account) {
  const std::string dir = state_home() + "/locks";
  make_private_dir(dir);
  return dir + "/" + short_hash(spec_identity(target_spec) + "\n" + target_account) + ".lock";
}

}  // namespace mailmig::cli
