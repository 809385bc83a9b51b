#include "config/takeover.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <stdio.h>  // renameat2
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <ctime>

#include "core/error.h"
#include "core/fs.h"
#include "core/user_db.h"

namespace mailmig::config {

namespace {

std::string strip_slashes(std::string path) {
  while (path.size() > 1 && path.ends_with('/')) path.pop_back();
  return path;
}

std::string parent_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::optional<uid_t> user_id(const std::string& name) {
  const std::optional<UserIds> ids = lookup_user(name);
  return ids ? std::optional<uid_t>(ids->uid) : std::nullopt;
}

std::pair<std::string, std::string> split_owner(const std::string& spec) {
  auto colon = spec.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == spec.size())
    throw TakeoverUsageError(fmt::format("owner `{}`: expected USER:GROUP", spec));
  return {spec.substr(0, colon), spec.substr(colon + 1)};
}

Owner resolve_owner(const std::string& spec) {
  Owner owner;
  owner.spec = spec;
  auto [user, group] = split_owner(spec);
  owner.uid = user_id(user);
  owner.gid = lookup_group(group);
  owner.apply = owner.uid && owner.gid && ::geteuid() == 0;
  return owner;
}

TreeEntry root_entry(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) throw IoError(path, errno, "lstat");
  TreeEntry e;
  e.type = EntryType::Directory;
  e.mode = st.st_mode & 07777;
  e.uid = st.st_uid;
  e.gid = st.st_gid;
  return e;
}

std::string timestamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buffer[32];
  (void)std::strftime(buffer, sizeof buffer, "%Y%m%dT%H%M%SZ", &tm);
  return buffer;
}

// A backup directory that did not exist before: never overwrites an earlier one.
std::string backup(const std::string& dir, const std::string& backup_dir, const std::string& stamp) {
  std::string base = fs::join(backup_dir, base_of(dir) + ".bak-" + stamp);
  std::string path = base;
  for (int n = 2; ::access(path.c_str(), F_OK) == 0; ++n) path = fmt::format("{}-{}", base, n);
  copy_tree(dir, path);
  return path;
}

void install_staged(const Plan& plan, const std::string& to, bool owners) {
  const std::string staging = fs::join(parent_of(to), "." + base_of(to) + ".mailmig-staging");
  remove_tree(staging);  // left by a run that was killed before its swap
  if (::mkdir(staging.c_str(), 0700) != 0) throw IoError(staging, errno, "mkdir");
  try {
    write_tree(staging, plan.result, owners);
    if (owners && ::chown(staging.c_str(), plan.result_root.uid, plan.result_root.gid) != 0)
      throw IoError(staging, errno, "chown");
    if (::chmod(staging.c_str(), plan.result_root.mode) != 0) throw IoError(staging, errno, "chmod");
    // Every file is written and fsync'ed: swap both directories in one step.
    if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, to.c_str(), RENAME_EXCHANGE) != 0)
      throw IoError(to, errno, "renameat2(RENAME_EXCHANGE)");
  } catch (...) {
    try {
      remove_tree(staging);
    } catch (...) {
      // The original error matters more; the staging directory is removed by the next run.
    }
    throw;
  }
  const int parent = ::open(parent_of(to).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (parent >= 0) {
    ::fsync(parent);
    ::close(parent);
  }
  remove_tree(staging);  // now the old destination; the backup holds it
}

}  // namespace

TakeoverOutcome run_takeover(const Rules& rules, const TakeoverRequest& request) {
  const std::string from = strip_slashes(request.from);
  const std::string to = strip_slashes(request.to);
  if (!is_directory(from)) throw TakeoverUsageError(fmt::format("--from {}: not a directory", from));
  if (!is_directory(to))
    throw TakeoverUsageError(
        fmt::format("--to {}: not a directory (install {} first)", to, rules.new_product));
  if (request.old_defaults && !is_directory(*request.old_defaults))
    throw TakeoverUsageError(fmt::format("--old-defaults {}: not a directory", *request.old_defaults));
  const std::string backup_dir = request.backup_dir.empty() ? parent_of(to) : request.backup_dir;
  if (!request.dry_run && !is_directory(backup_dir))
    throw TakeoverUsageError(fmt::format("--backup-dir {}: not a directory", backup_dir));

  PlanOptions options;
  options.strategy = request.strategy;
  options.ldap_schema = request.ldap_schema;
  options.from = from;
  options.to = to;
  if (request.move_from) {
    options.move_from = strip_slashes(*request.move_from);
    options.move_to = strip_slashes(*request.move_to);
  }
  std::string owner_spec = request.owner.empty() ? rules.owner : request.owner;
  if (owner_spec.empty()) owner_spec = fmt::format("root:{}", rules.new_product);
  options.owner = resolve_owner(owner_spec);

  const Tree source = read_tree(from);
  const Tree destination = read_tree(to);
  std::optional<Tree> defaults;
  if (request.old_defaults) defaults = read_tree(*request.old_defaults);

  TakeoverOutcome outcome;
  outcome.plan =
      plan_takeover(rules, options, source, destination, root_entry(to), defaults ? &*defaults : nullptr);
  Plan& plan = outcome.plan;

  MoveOptions move;
  if (request.move_from) {
    move.from = *options.move_from;
    move.to = *options.move_to;
    move.dry_run = request.dry_run;
    move.progress = request.move_progress;
    // Forces the copy path on one file system (tests; bind mounts that must not be renamed across).
    const char* force = std::getenv("MAILMIG_MOVE_DATA_COPY");  // NOLINT(concurrency-mt-unsafe)
    move.force_copy = force != nullptr && std::string(force) == "1";
    if (!rules.old_service_user.empty()) {
      auto [old_user, old_group] = split_owner(rules.old_service_user);
      auto [new_user, new_group] = split_owner(rules.new_service_user);
      move.old_uid = user_id(old_user);
      move.new_uid = user_id(new_user);
      move.old_gid = lookup_group(old_group);
      move.new_gid = lookup_group(new_group);
      // Files of the old service user exist only when the user does; without root or
      // without the new user, a person runs the commands.
      const bool old_exists = move.old_uid || move.old_gid;
      if (old_exists &&
          ((move.old_uid && !move.new_uid) || (move.old_gid && !move.new_gid) || ::geteuid() != 0)) {
        plan.manual_commands.push_back(
            fmt::format("find {} -user {} -exec chown {} {{}} +", move.to, old_user, new_user));
        plan.manual_commands.push_back(
            fmt::format("find {} -group {} -exec chown :{} {{}} +", move.to, old_group, new_group));
        plan.warnings.push_back(
            {move.to, 0,
             fmt::format("files of {} cannot be given to {} here: run the commands listed",
                         rules.old_service_user, rules.new_service_user)});
      }
    }
  }
  if (request.dry_run) {
    if (request.move_from) outcome.move = move_data(move);
    return outcome;
  }

  const std::string stamp = timestamp();
  if (plan.changes_destination()) {
    outcome.backups.push_back(backup(from, backup_dir, stamp));
    outcome.backups.push_back(backup(to, backup_dir, stamp));
    if (request.strategy == Strategy::Copy) {
      // Approach b keeps the new product's own files for comparison, once.
      std::string orig = to + "-orig";
      if (::access(orig.c_str(), F_OK) != 0) {
        copy_tree(to, orig);
        outcome.backups.push_back(orig);
      }
    }
  }
  if (request.move_from) outcome.move = move_data(move);
  if (plan.changes_destination()) {
    install_staged(plan, to, options.owner.apply);
    outcome.written = true;
  }
  return outcome;
}

}  // namespace mailmig::config
