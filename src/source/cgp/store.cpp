#include "source/cgp/store.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <fstream>
#include <map>
#include <set>

#include "core/error.h"
#include "core/fs.h"
#include "format/cgp/layout.h"
#include "source/cgp/mailbox_files.h"
#include "source/cgp/settings.h"
#include "source/no_select_folder.h"

namespace mailmig::cgp {

namespace {

std::string host_name() {
  std::array<char, 256> buf{};
  if (::gethostname(buf.data(), buf.size() - 1) != 0) return "localhost";
  return buf.data();
}

// Resolves what a directory entry is, following a symlink only when it stays
// inside the store; reports the ones that do not. `path` becomes the resolved
// target, because every reader opens with O_NOFOLLOW.
std::optional<fs::Type> effective_type(const std::string& root, std::string& path, const fs::Entry& entry,
                                       const ProblemFn& problem, Problem context) {
  if (entry.type != fs::Type::Symlink) return entry.type;
  auto type = fs::symlink_target_type_within(root, path);
  if (!type) {
    context.file = path;
    context.message = "symbolic link leads outside the store or nowhere; not followed";
    problem(std::move(context));
    return std::nullopt;
  }
  path = fs::real_path(path).value_or(path);
  return type;
}

class StoreAccount final : public Account {
 public:
  StoreAccount(std::string root, AccountInfo info, std::vector<std::string> subscribed, bool live)
      : root_(std::move(root)),
        info_(std::move(info)),
        subscribed_(subscribed.begin(), subscribed.end()),
        live_(live) {}

  [[nodiscard]] const AccountInfo& info() const override { return info_; }

  std::vector<FolderInfo> folders(const ProblemFn& problem) override {
    std::vector<FolderInfo> out;
    if (info_.kind == "single-mailbox") {
      out.push_back(FolderInfo{.name = "INBOX",
                               .selectable = true,
                               .subscribed = true,
                               .location = info_.location,
                               .format = info_.location.ends_with(".mdir") ? "mdir" : "mbox"});
      return out;
    }
    walk(info_.location, "", problem, out);
    std::stable_sort(out.begin(), out.end(),
                     [](const FolderInfo& a, const FolderInfo& b) { return order_key(a) < order_key(b); });
    return out;
  }

  [[nodiscard]] std::unique_ptr<Folder> open_folder(const FolderInfo& folder) const override {
    if (!folder.selectable) return std::make_unique<NoSelectFolder>();
    if (folder.format == "mdir") {
      auto dir = std::make_unique<MdirDirectory>(folder.location);
      dir->set_live(live_);
      return dir;
    }
    auto file = std::make_unique<MboxFile>(folder.location);
    file->set_live(live_);
    return file;
  }

 private:
  // INBOX first, then parents before children in name order.
  static std::string order_key(const FolderInfo& f) {
    if (f.name == "INBOX" || f.name.starts_with("INBOX/")) return std::string("\x01") + f.name;
    return f.name;
  }

  Problem context(const std::string& folder) const {
    return Problem{.scope = Scope::Folder, .domain = info_.domain, .account = info_.name, .folder = folder};
  }

  std::string folder_name(const std::string& encoded, const std::string& parent, const std::string& path,
                          const ProblemFn& problem) const {
    FolderLevel level = folder_level(encoded, parent);
    if (level.raw) {
      Problem p = context(level.name);
      p.file = path;
      p.message = std::string(kUndecodedFolderName);
      problem(std::move(p));
    }
    return std::move(level.name);
  }

  void walk(const std::string& dir, const std::string& parent, const ProblemFn& problem,
            std::vector<FolderInfo>& out) const {
    std::vector<fs::Entry> entries;
    try {
      entries = fs::list_directory(dir);
    } catch (const IoError& e) {
      Problem p = context(parent);
      p.file = dir;
      p.message = e.what();
      problem(std::move(p));
      return;
    }
    std::map<std::string, FolderInfo> found;                   // by full folder name
    std::set<std::string> containers;                          // folder names that have a .folder directory
    std::vector<std::pair<std::string, std::string>> subdirs;  // (folder name, directory)
    for (const fs::Entry& entry : entries) {
      std::string path = fs::join(dir, entry.name);
      const AccountEntry kind = account_entry(entry.name);
      if (kind.kind == AccountEntry::Kind::Other) continue;  // account.settings, account.info, ...
      auto type = effective_type(root_, path, entry, problem, context(parent));
      if (!type) continue;
      const std::string name = folder_name(kind.encoded, parent, path, problem);
      if (kind.kind == AccountEntry::Kind::FolderDirectory) {
        if (*type != fs::Type::Directory) continue;
        containers.insert(name);
        subdirs.emplace_back(name, path);
        continue;
      }
      const bool is_mdir = kind.kind == AccountEntry::Kind::Mdir;
      if ((is_mdir && *type != fs::Type::Directory) || (!is_mdir && *type != fs::Type::File)) {
        Problem p = context(name);
        p.file = path;
        p.message = is_mdir ? "a .mdir mailbox must be a directory; skipped"
                            : "a .mbox mailbox must be a file; skipped";
        problem(std::move(p));
        continue;
      }
      if (auto clash = found.find(name); clash != found.end()) {
        Problem p = context(name);
        p.file = path;
        p.message = fmt::format("two mailboxes named \"{}\" ({} and {}); only the first is read", name,
                                clash->second.location, path);
        problem(std::move(p));
        continue;
      }
      found.emplace(name, FolderInfo{.name = name,
                                     .selectable = true,
                                     .subscribed = subscribed_.contains(name),
                                     .location = path,
                                     .format = is_mdir ? "mdir" : "mbox"});
    }
    for (const std::string& name : containers) {
      if (found.contains(name)) continue;
      found.emplace(name, FolderInfo{.name = name,
                                     .selectable = false,
                                     .subscribed = subscribed_.contains(name),
                                     .location = fs::join(dir, ""),
                                     .format = "dir"});
    }
    for (auto& [name, folder] : found) out.push_back(std::move(folder));
    for (const auto& [name, path] : subdirs) walk(path, name, problem, out);
  }

  std::string root_;
  AccountInfo info_;
  std::set<std::string> subscribed_;
  bool live_ = false;
};

}  // namespace

Store::Store(const std::string& root, const StoreOptions& options) {
  auto canonical = fs::real_path(root);
  if (!canonical) throw StoreError(fmt::format("{}: no such directory", root));
  root_ = *canonical;
  if (!fs::real_path(fs::join(root_, "Accounts")) && !fs::real_path(fs::join(root_, "Domains"))) {
    throw StoreError(
        fmt::format("{}: not a CommuniGate Pro store (neither Accounts/ nor Domains/ found)", root_));
  }
  const std::optional<std::string> live = detect_live_server(root_);
  live_ = live.has_value();
  if (live_ && options.allow_live) {
    spdlog::warn(
        "{}: reading the store of a running server ({}) as allowed: messages still being written are "
        "left for the next sync",
        root_, *live);
  }
  if (!options.allow_live) {
    if (live) {
      throw StoreError(
          fmt::format("{}: the CommuniGate Pro server is running ({}). Stop it first: its files are in use "
                      "and change while "
                      "they are read. To read a read-only snapshot anyway, allow a live store explicitly.",
                      root_, *live));
    }
  }
  if (!options.main_domain.empty()) {
    main_domain_ = options.main_domain;
    main_domain_origin_ = "option";
  } else {
    const std::string main_settings = fs::join(root_, std::string(kMainSettings));
    if (fs::real_path(main_settings)) {
      auto value =
          read_settings_file(main_settings, [](const Problem& p) { spdlog::warn("{}", p.describe()); });
      if (value) {
        if (auto name = main_domain_name(*value)) {
          main_domain_ = *name;
          main_domain_origin_ = std::string(kMainSettings);
        }
      }
    }
    if (main_domain_.empty()) {
      main_domain_ = host_name();
      main_domain_origin_ = "host name";
    }
  }
}

std::vector<DomainInfo> Store::domains(const ProblemFn& problem) {
  std::vector<DomainInfo> out;
  auto with_aliases = [&](DomainInfo info) {
    const std::string settings = fs::join(info.location, std::string(kDomainSettings));
    if (fs::real_path(settings)) {
      auto value = read_settings_file(settings, [&](Problem p) {
        p.scope = Scope::Domain;
        p.domain = info.name;
        problem(std::move(p));
      });
      if (value) info.aliases = domain_aliases(*value);
    }
    out.push_back(std::move(info));
  };
  const std::string accounts_dir = fs::join(root_, std::string(kAccountsDir));
  if (fs::real_path(accounts_dir))
    with_aliases(DomainInfo{.name = main_domain_, .main = true, .location = accounts_dir});

  const std::string domains_dir = fs::join(root_, std::string(kDomainsDir));
  if (!fs::real_path(domains_dir)) return out;
  std::vector<fs::Entry> entries;
  try {
    entries = fs::list_directory(domains_dir);
  } catch (const IoError& e) {
    problem(Problem{.scope = Scope::Store, .file = domains_dir, .message = e.what()});
    return out;
  }
  for (const fs::Entry& entry : entries) {
    std::string path = fs::join(domains_dir, entry.name);
    auto type =
        effective_type(root_, path, entry, problem, Problem{.scope = Scope::Domain, .domain = entry.name});
    if (!type || *type != fs::Type::Directory) continue;
    with_aliases(DomainInfo{.name = domain_name(entry.name), .main = false, .location = path});
  }
  return out;
}

std::vector<AccountInfo> Store::accounts(const DomainInfo& domain, const ProblemFn& problem) {
  std::vector<AccountInfo> out;
  walk_accounts(domain.location, domain, 0, out, problem);
  std::sort(out.begin(), out.end(),
            [](const AccountInfo& a, const AccountInfo& b) { return a.name < b.name; });
  for (std::size_t i = 1; i < out.size(); ++i) {
    if (out[i].name == out[i - 1].name) {
      problem(Problem{
          .scope = Scope::Account,
          .domain = domain.name,
          .account = out[i].name,
          .file = out[i].location,
          .message = fmt::format("account stored twice (also {}); both are listed", out[i - 1].location)});
    }
  }
  return out;
}

void Store::walk_accounts(const std::string& dir, const DomainInfo& domain, int depth,
                          std::vector<AccountInfo>& out, const ProblemFn& problem) const {
  std::vector<fs::Entry> entries;
  try {
    entries = fs::list_directory(dir);
  } catch (const IoError& e) {
    problem(Problem{.scope = Scope::Domain, .domain = domain.name, .file = dir, .message = e.what()});
    return;
  }
  std::set<std::string> names;
  for (const auto& e : entries) names.insert(e.name);

  auto load_settings = [&](AccountInfo& info, const std::string& settings_path,
                           const std::string& info_path) {
    auto account_problem = [&](Problem p) {
      p.scope = Scope::Account;
      p.domain = domain.name;
      p.account = info.name;
      problem(std::move(p));
    };
    if (fs::real_path(settings_path)) {
      if (auto value = read_settings_file(settings_path, account_problem)) {
        AccountSettings s = interpret_account_settings(*value);
        info.password = std::move(s.password);
        info.real_name = std::move(s.real_name);
      }
    }
    std::vector<std::string> subscribed;
    if (!info_path.empty() && fs::real_path(info_path)) {
      if (auto value = read_settings_file(info_path, account_problem))
        subscribed = interpret_account_info(*value).subscribed;
    }
    return subscribed;
  };

  for (const fs::Entry& entry : entries) {
    std::string path = fs::join(dir, entry.name);
    Problem context{.scope = Scope::Account, .domain = domain.name};
    const DomainEntry kind = domain_entry(entry.name);
    if (kind.kind == DomainEntry::Kind::Account) {
      context.account = kind.stem;
      auto type = effective_type(root_, path, entry, problem, context);
      if (!type || *type != fs::Type::Directory) continue;
      AccountInfo info{
          .domain = domain.name, .name = kind.account, .location = path, .kind = "multi-mailbox"};
      load_settings(info, fs::join(path, std::string(kAccountSettings)),
                    fs::join(path, std::string(kAccountInfo)));
      out.push_back(std::move(info));
    } else if (kind.kind == DomainEntry::Kind::SubDirectory) {
      auto type = effective_type(root_, path, entry, problem, context);
      if (!type || *type != fs::Type::Directory) continue;
      if (depth >= kMaxSubdirDepth) {
        problem(Problem{.scope = Scope::Domain,
                        .domain = domain.name,
                        .file = path,
                        .message = "account subdirectories nested too deep; not read"});
        continue;
      }
      walk_accounts(path, domain, depth + 1, out, problem);
    } else if (kind.kind == DomainEntry::Kind::SingleMailbox) {
      // Legacy single-mailbox account: <name>.mbox (or .mdir) next to <name>.settings.
      context.account = kind.stem;
      auto type = effective_type(root_, path, entry, problem, context);
      if (!type) continue;
      AccountInfo info{
          .domain = domain.name, .name = kind.account, .location = path, .kind = "single-mailbox"};
      const std::string settings = single_mailbox_settings(kind);
      const std::string info_file = single_mailbox_info(kind);
      if (names.contains(settings)) {
        load_settings(info, fs::join(dir, settings),
                      names.contains(info_file) ? fs::join(dir, info_file) : "");
      }
      out.push_back(std::move(info));
    }
  }
}

std::unique_ptr<Account> Store::open_account(const AccountInfo& account) const {
  std::vector<std::string> subscribed;
  if (account.kind == "multi-mailbox") {
    const std::string info_path = fs::join(account.location, std::string(kAccountInfo));
    if (fs::real_path(info_path)) {
      // Its problems were reported when the account was listed (list_accounts).
      if (auto value = read_settings_file(info_path, [](const Problem&) {}))
        subscribed = interpret_account_info(*value).subscribed;
    }
  }
  return std::make_unique<StoreAccount>(root_, account, std::move(subscribed), live_);
}

namespace {

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

bool process_alive(pid_t pid) {
  return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

std::string process_name(pid_t pid) {
  return read_first_line(fmt::format("/proc/{}/comm", pid));
}

bool is_cgserver(const std::string& comm) {
  return comm.find("CGServer") != std::string::npos;
}

}  // namespace

std::optional<std::string> detect_live_server(const std::string& root) {
  // CGServer writes its PID into <base>/ProcessID while it runs.
  const std::string pid_file = fs::join(root, "ProcessID");
  const std::string pid_text = read_first_line(pid_file);
  if (!pid_text.empty()) {
    char* end = nullptr;
    const long pid = std::strtol(pid_text.c_str(), &end, 10);
    if (end != pid_text.c_str() && process_alive(static_cast<pid_t>(pid)) &&
        is_cgserver(process_name(static_cast<pid_t>(pid)))) {
      return fmt::format("process {} named in {}", pid, pid_file);
    }
  }
  // A server started with another PID file location still runs in its base directory.
  std::vector<fs::Entry> procs;
  try {
    procs = fs::list_directory("/proc");
  } catch (const IoError&) {
    return std::nullopt;
  }
  for (const fs::Entry& entry : procs) {
    if (entry.name.empty() || std::isdigit(static_cast<unsigned char>(entry.name[0])) == 0) continue;
    const auto pid = static_cast<pid_t>(std::strtol(entry.name.c_str(), nullptr, 10));
    if (!is_cgserver(process_name(pid))) continue;
    auto cwd = fs::real_path(fmt::format("/proc/{}/cwd", pid));
    if (cwd && *cwd == root) return fmt::format("CGServer process {} runs in the store directory", pid);
  }
  return std::nullopt;
}

}  // namespace mailmig::cgp
