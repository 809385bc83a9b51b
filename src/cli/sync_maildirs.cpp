#include "cli/sync_maildirs.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <iostream>
#include <set>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/legacy_argv.h"
#include "cli/migrate_command.h"
#include "core/ascii.h"
#include "source/maildir/user_paths.h"

namespace mailmig::cli {

namespace {

// The mail domain of this host: the part of its name after the first dot
// (NethServer's DomainName), from gethostname or the resolver's canonical name.
std::optional<std::string> host_domain() {
  std::array<char, 256> name{};
  if (::gethostname(name.data(), name.size() - 1) != 0) return std::nullopt;
  std::string host = name.data();
  if (host.find('.') == std::string::npos) {
    addrinfo hints{};
    hints.ai_flags = AI_CANONNAME;
    addrinfo* found = nullptr;
    if (::getaddrinfo(host.c_str(), nullptr, &hints, &found) == 0 && found != nullptr) {
      if (found->ai_canonname != nullptr) host = found->ai_canonname;
      ::freeaddrinfo(found);
    }
  }
  const auto dot = host.find('.');
  if (dot == std::string::npos || dot + 1 >= host.size()) return std::nullopt;
  return ascii_lower(host.substr(dot + 1));
}

// USER:GROUP owning `path` (the destination's mail directory: vmail:vmail on NethServer).
std::string owner_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  std::array<char, 4096> buffer{};
  passwd pw{};
  passwd* user = nullptr;
  if (::getpwuid_r(st.st_uid, &pw, buffer.data(), buffer.size(), &user) != 0 || user == nullptr) return {};
  std::string out = user->pw_name;
  std::array<char, 4096> group_buffer{};
  group gr{};
  group* grp = nullptr;
  if (::getgrgid_r(st.st_gid, &gr, group_buffer.data(), group_buffer.size(), &grp) == 0 && grp != nullptr) {
    out += std::string(":") + grp->gr_name;
  }
  return out;
}

bool parse_port(const std::string& text, int& port) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), port);
  return error == std::errc() && end == text.data() + text.size() && port >= 1 && port <= 65535;
}

}  // namespace

void print_sync_maildirs_help(std::ostream& out) {
  out << R"(Usage: 
  sync_maildirs [-h] [-n] [-p PORT] -s IPADDR [options]
	-h          help message
	-n          dry run
	-p PORT     ssh port on source host (default 22)
	-s IPADDR   sync from source host IPADDR

Re-synchronises the destination mailboxes with the source host (mailmig sync
over ssh/SFTP). Run it on the destination. The source host at IPADDR must be
accessible by the root user through ssh with public-key authentication (the
ssh agent, ~/.ssh/id_*, or --ssh-key); its host key must be in known_hosts.
Only users that have a mailbox on the destination are synchronised. New
mail, flag changes and new folders are copied; nothing is ever written on
the source and a message is never copied twice.

Options (additions):
  --source-path PATH        Users' homes on the source (default /home/e-smith/files/users)
  --source-user-path PAT    Each user's Maildir under it (default %n/Maildir)
  --target-path PATH        Mail directory on this host (default /var/lib/nethserver/vmail)
  --target-user-path PAT    Each user's Maildir under it (default %n/Maildir)
  --ssh-user USER           Login on the source (default root)
  --ssh-key FILE            Private key (default: the ssh agent, then ~/.ssh/id_*)
  --ssh-known-hosts FILE    known_hosts to check the source's host key (default ~/.ssh/known_hosts)
  --user NAME               Only this user (repeatable)
  --domain DOMAIN           Mail domain of the users (default: this host's DNS domain)
  --owner USER[:GROUP]      Owner of the files written (default: the owner of --target-path)
  --state DIR               mailmig state directory (default: mailmig's default)
  --log FILE                Log everything to FILE
  --jobs N                  Users synchronised in parallel (default 4)

Patterns: %n user name, %d domain, %u user@domain.
Exit status: 0 done, 1 finished with problems (listed), 2 bad command line, 3 nothing done.
)";
}

namespace {

std::vector<LegacyOption> sync_maildirs_options(SyncMaildirsOptions& o) {
  const auto store_port = [&o](const std::string& v) {
    return parse_port(v, o.port) ? std::string() : fmt::format("-p \"{}\": not a port number", v);
  };
  const auto store_jobs = [&o](const std::string& v) {
    int jobs = 0;
    if (!parse_port(v, jobs) || jobs > 256)
      return fmt::format("--jobs \"{}\": not a number from 1 to 256", v);
    o.jobs = static_cast<unsigned>(jobs);
    return std::string();
  };
  const auto add_user = [&o](const std::string& v) {
    o.users.push_back(v);
    return std::string();
  };
  using T = LegacyOption::Takes;
  return {
      legacy_flag({"-h", "--help"}, o.help),
      legacy_flag({"-n", "--dry-run"}, o.dry_run),
      {{"-p", "--port"}, T::Value, store_port},
      legacy_value({"-s", "--source-host"}, o.host),
      legacy_value({"--source-path"}, o.source_path),
      legacy_value({"--source-user-path"}, o.source_user_path),
      legacy_value({"--target-path"}, o.target_path),
      legacy_value({"--target-user-path"}, o.target_user_path),
      legacy_value({"--ssh-user"}, o.ssh_user),
      legacy_value({"--ssh-key"}, o.ssh_key),
      legacy_value({"--ssh-known-hosts"}, o.ssh_known_hosts),
      legacy_value({"--state"}, o.state_dir),
      legacy_value({"--domain"}, o.domain),
      legacy_value({"--owner"}, o.owner),
      legacy_value({"--log"}, o.log_file),
      {{"--user"}, T::Value, add_user},
      {{"--jobs"}, T::Value, store_jobs},
  };
}

}  // namespace

SyncMaildirsParse parse_sync_maildirs(int argc, char** argv) {
  SyncMaildirsParse result;
  SyncMaildirsOptions& o = result.options;
  const LegacySyntax syntax{.inline_value = true,
                            .missing_value = "{} needs a value",
                            .unknown = "unknown option \"{}\" (-h for help)"};
  result.error = parse_legacy_argv(argc, argv, sync_maildirs_options(o), syntax);
  if (result.error.empty() && !o.help && o.host.empty())
    result.error = "-s IPADDR is required: the source host";
  return result;
}

std::string sync_maildirs_source(const SyncMaildirsOptions& o) {
  const std::string host = o.host.find(':') != std::string::npos ? "[" + o.host + "]" : o.host;
  std::string path = o.source_path;
  if (!path.starts_with('/')) path.insert(0, "/");
  return fmt::format("maildir+ssh://{}@{}:{}{}", o.ssh_user, host, o.port, path);
}

int sync_maildirs_main(int argc, char** argv) {
  SyncMaildirsParse parsed = parse_sync_maildirs(argc, argv);
  const SyncMaildirsOptions& o = parsed.options;
  if (!parsed.error.empty()) {
    std::cerr << "sync_maildirs: " << parsed.error << "\n";
    return kExitUsage;
  }
  if (o.help) {
    print_sync_maildirs_help(std::cout);
    return kExitOk;
  }
  setup_logging(0, false, o.log_file);
  const std::string domain = !o.domain.empty() ? o.domain : host_domain().value_or("");
  if (domain.empty()) {
    std::cerr << "sync_maildirs: cannot tell this host's mail domain (its name has no domain part); give "
                 "--domain\n";
    return kExitUsage;
  }
  if (!maildir::is_directory(o.target_path)) {
    std::cerr << fmt::format(
        "sync_maildirs: {}: no such directory (the destination's mailboxes; see --target-path)\n",
        o.target_path);
    return kExitFatal;
  }
  // The users: those with a mailbox here (or the ones named with --user).
  std::set<std::string> users(o.users.begin(), o.users.end());
  if (users.empty()) {
    std::vector<std::string> unreadable;
    for (const maildir::FoundAccount& found :
         maildir::expand_user_path(o.target_path, o.target_user_path,
                                   [&](const Problem& p) { unreadable.push_back(p.describe()); })) {
      users.insert(ascii_lower(found.name));
    }
    for (const std::string& line : unreadable) std::cerr << "sync_maildirs: " << line << "\n";
    if (users.empty()) {
      std::cout << fmt::format("No mailboxes in {} ({}): nothing to synchronise.\n", o.target_path,
                               o.target_user_path);
      return unreadable.empty() ? kExitOk : kExitFatal;
    }
  }

  MigrateCommand m;
  m.sync = true;
  m.dry_run = o.dry_run;
  m.source = sync_maildirs_source(o);
  m.source_options.user_path = o.source_user_path;
  m.source_options.domain = domain;
  m.source_options.ssh_key = o.ssh_key;
  m.source_options.ssh_known_hosts = o.ssh_known_hosts;
  m.select.selection.domain = domain;
  m.select.selection.listed = users;
  m.target.target = "maildir:" + o.target_path;
  m.target.target_user_path = o.target_user_path;
  m.target.owner = !o.owner.empty() ? o.owner : (::geteuid() == 0 ? owner_of(o.target_path) : std::string());
  m.state_dir = o.state_dir;
  m.jobs = o.jobs;
  m.log_file = o.log_file;
  std::cout << fmt::format("{} {} user(s) from {}: {}\n",
                           o.dry_run ? "Dry run: would synchronise" : "Synchronising", users.size(), o.host,
                           fmt::join(users, " "));
  return run_migrate(m, std::cout, std::cerr);
}

}  // namespace mailmig::cli
