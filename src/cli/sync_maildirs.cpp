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

SyncMaildirsParse parse_sync_maildirs(int argc, char** argv) {
  SyncMaildirsParse result;
  SyncMaildirsOptions& o = result.options;
  const auto value = [&](int& i, const std::string& option) -> std::optional<std::string> {
    if (i + 1 >= argc) {
      result.error = fmt::format("{} needs a value", option);
      return std::nullopt;
    }
    return std::string(argv[++i]);
  };
  for (int i = 1; i < argc && result.error.empty(); ++i) {
    std::string arg = argv[i];
    std::optional<std::string> inline_value;
    if (arg.starts_with("--")) {
      if (const auto eq = arg.find('='); eq != std::string::npos) {
        inline_value = arg.substr(eq + 1);
        arg.resize(eq);
      }
    }
    const auto take = [&]() -> std::optional<std::string> {
      return inline_value ? inline_value : value(i, arg);
    };
    std::string* target = nullptr;
    if (arg == "-h" || arg == "--help") {
      o.help = true;
    } else if (arg == "-n" || arg == "--dry-run") {
      o.dry_run = true;
    } else if (arg == "-p" || arg == "--port") {
      if (auto v = take(); v && !parse_port(*v, o.port))
        result.error = fmt::format("-p \"{}\": not a port number", *v);
    } else if (arg == "-s" || arg == "--source-host") {
      target = &o.host;
    } else if (arg == "--source-path") {
      target = &o.source_path;
    } else if (arg == "--source-user-path") {
      target = &o.source_user_path;
    } else if (arg == "--target-path") {
      target = &o.target_path;
    } else if (arg == "--target-user-path") {
      target = &o.target_user_path;
    } else if (arg == "--ssh-user") {
      target = &o.ssh_user;
    } else if (arg == "--ssh-key") {
      target = &o.ssh_key;
    } else if (arg == "--ssh-known-hosts") {
      target = &o.ssh_known_hosts;
    } else if (arg == "--state") {
      target = &o.state_dir;
    } else if (arg == "--domain") {
      target = &o.domain;
    } else if (arg == "--owner") {
      target = &o.owner;
    } else if (arg == "--log") {
      target = &o.log_file;
    } else if (arg == "--user") {
      if (auto v = take()) o.users.push_back(*v);
    } else if (arg == "--jobs") {
      int jobs = 0;
      if (auto v = take()) {
        if (!parse_port(*v, jobs) || jobs > 256) {
          result.error = fmt::format("--jobs \"{}\": not a number from 1 to 256", *v);
        } else {
          o.jobs = static_cast<unsigned>(jobs);
        }
      }
    } else {
      result.error = fmt::format("unknown option \"{}\" (-h for help)", arg);
    }
    if (target != nullptr) {
      if (auto v = take()) *target = *v;
    }
  }
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
