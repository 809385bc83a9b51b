#include "source/archive/layout_cgp.h"

#include <fmt/format.h>

#include <map>
#include <set>
#include <tuple>

#include "core/fs.h"
#include "format/cgp/cgp_text.h"
#include "format/cgp/layout.h"
#include "source/cgp/settings.h"
#include "source/maildir/user_paths.h"

namespace mailmig::archive {
namespace {

std::optional<cgp::Value> parse_text(const RawCatalogue& raw, const std::string& path,
                                     std::vector<Problem>& problems, const Problem& context) {
  auto it = raw.texts.find(path);
  if (it == raw.texts.end()) return std::nullopt;
  try {
    return cgp::parse(it->second);
  } catch (const cgp::ParseError& e) {
    Problem p = context;
    p.file = entry_location(raw.archive, path);
    p.line = e.line();
    p.column = e.column();
    p.message = fmt::format("settings not understood: {}", e.reason());
    problems.push_back(std::move(p));
    return std::nullopt;
  }
}

struct AccountKey {
  std::string domain;
  std::string name;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy misreads the defaulted comparison
  auto operator<=>(const AccountKey&) const = default;
};

struct AccountBuilder {
  CatalogueAccount account;
  std::string dir;  // entry path of the .macnt directory (or the single mailbox)
  std::map<std::string, CatalogueFolder> folders;
  std::set<std::string> containers;  // names of X.folder directories
};

}  // namespace

std::optional<std::string> find_cgp_base(const RawCatalogue& raw) {
  for (const EntryHeader& entry : raw.entries) {
    const std::vector<std::string> parts = fs::path_components(entry.path);
    for (std::size_t depth = 0; depth < 2 && depth + 1 < parts.size(); ++depth) {
      if (parts[depth] != cgp::kAccountsDir && parts[depth] != cgp::kDomainsDir) continue;
      // A mail-bearing name below it, so a stray "Accounts" directory is not taken for a store.
      for (std::size_t i = depth + 1; i < parts.size(); ++i) {
        const cgp::DomainEntry::Kind kind = cgp::domain_entry(parts[i]).kind;
        if (kind == cgp::DomainEntry::Kind::Account || kind == cgp::DomainEntry::Kind::SingleMailbox) {
          return depth == 0 ? std::string() : parts[0] + "/";
        }
      }
    }
  }
  return std::nullopt;
}

void build_cgp_catalogue(const RawCatalogue& raw, const CgpLayoutOptions& options, Catalogue& out,
                         std::string& main_domain_origin) {
  std::string main_domain = options.main_domain;
  main_domain_origin = "option";
  if (main_domain.empty()) {
    if (auto value = parse_text(raw, options.base + std::string(cgp::kMainSettings), out.problems,
                                Problem{.scope = Scope::Store})) {
      if (auto name = cgp::main_domain_name(*value)) {
        main_domain = *name;
        main_domain_origin = std::string(cgp::kMainSettings);
      }
    }
  }
  if (main_domain.empty() && !options.fallback_domain.empty()) {
    main_domain = options.fallback_domain;
    main_domain_origin = "--domain";
  }
  const bool has_main =
      raw.entries.end() != std::find_if(raw.entries.begin(), raw.entries.end(), [&](const EntryHeader& e) {
        return e.path.starts_with(options.base + std::string(cgp::kAccountsDir) + "/");
      });
  if (main_domain.empty() && has_main) {
    throw maildir::SourceError(
        fmt::format("{}: the CommuniGate store has no Settings/Main.settings naming its main domain "
                    "(Accounts/); name it with "
                    "--main-domain",
                    raw.archive));
  }
  main_domain = cgp::domain_name(main_domain);

  std::map<std::string, DomainInfo> domains;
  std::map<AccountKey, AccountBuilder> accounts;
  const auto domain_of = [&](const std::vector<std::string>& parts,
                             std::size_t& next) -> std::optional<std::string> {
    if (parts.empty()) return std::nullopt;
    if (parts[0] == cgp::kAccountsDir) {
      next = 1;
      if (!domains.contains(main_domain)) {
        domains.emplace(main_domain,
                        DomainInfo{.name = main_domain,
                                   .main = true,
                                   .location = entry_location(raw.archive, options.base + parts[0])});
      }
      return main_domain;
    }
    if (parts[0] == cgp::kDomainsDir && parts.size() >= 2) {
      next = 2;
      const std::string name = cgp::domain_name(parts[1]);
      if (!domains.contains(name)) {
        domains.emplace(name, DomainInfo{.name = name,
                                         .main = false,
                                         .location = entry_location(
                                             raw.archive, options.base + parts[0] + "/" + parts[1])});
      }
      return name;
    }
    return std::nullopt;
  };
  const auto folder_name = [&](AccountBuilder& b, const std::string& encoded, const std::string& parent,
                               const std::string& path) {
    cgp::FolderLevel level = cgp::folder_level(encoded, parent);
    if (level.raw) {
      b.account.problems.push_back(Problem{.scope = Scope::Folder,
                                           .domain = b.account.info.domain,
                                           .account = b.account.info.name,
                                           .folder = level.name,
                                           .file = entry_location(raw.archive, path),
                                           .message = std::string(cgp::kUndecodedFolderName)});
    }
    return std::move(level.name);
  };

  for (const EntryHeader& entry : raw.entries) {
    if (!entry.path.starts_with(options.base) || entry.path.size() == options.base.size()) continue;
    const std::vector<std::string> parts =
        fs::path_components(std::string_view(entry.path).substr(options.base.size()));
    std::size_t i = 0;
    const std::optional<std::string> domain = domain_of(parts, i);
    if (!domain) continue;
    int depth = 0;
    while (i < parts.size() && cgp::domain_entry(parts[i]).kind == cgp::DomainEntry::Kind::SubDirectory &&
           depth < cgp::kMaxSubdirDepth) {
      ++i;
      ++depth;
    }
    if (i >= parts.size()) continue;
    const std::string& top = parts[i];
    std::string prefix;
    for (std::size_t k = 0; k <= i; ++k) {
      if (k != 0) prefix += '/';
      prefix += parts[k];
    }
    prefix.insert(0, options.base);
    const cgp::DomainEntry top_entry = cgp::domain_entry(top);
    const bool multi = top_entry.kind == cgp::DomainEntry::Kind::Account;
    const bool single = top_entry.kind == cgp::DomainEntry::Kind::SingleMailbox;
    if (!multi && !single) continue;
    const std::string& account_name = top_entry.account;
    AccountBuilder& b = accounts[AccountKey{*domain, account_name}];
    if (b.dir.empty()) {
      b.dir = prefix;
      b.account.info = AccountInfo{.domain = *domain,
                                   .name = account_name,
                                   .location = entry_location(raw.archive, prefix),
                                   .kind = multi ? "multi-mailbox" : "single-mailbox"};
      const Problem context{.scope = Scope::Account, .domain = *domain, .account = account_name};
      const std::string dir = prefix.substr(0, prefix.size() - top.size());
      const std::string settings = multi ? prefix + "/" + std::string(cgp::kAccountSettings)
                                         : dir + cgp::single_mailbox_settings(top_entry);
      if (auto value = parse_text(raw, settings, b.account.problems, context)) {
        cgp::AccountSettings s = cgp::interpret_account_settings(*value);
        b.account.info.password = std::move(s.password);
        b.account.info.real_name = std::move(s.real_name);
      }
    } else if (b.dir != prefix) {
      // The same account under two *.sub paths: only the first copy is read.
      if (i + 1 == parts.size()) {
        b.account.problems.push_back(
            Problem{.scope = Scope::Account,
                    .domain = *domain,
                    .account = account_name,
                    .file = entry_location(raw.archive, prefix),
                    .message = fmt::format("account stored twice (also {}); only that one is read",
                                           b.account.info.location)});
      }
      continue;
    }
    // Inside the account: X.folder/ ... Y.mbox | Y.mdir/<message>.
    std::string parent;
    std::size_t k = i + 1;
    if (single) {
      k = i;
      parent.clear();
    }
    while (k < parts.size()) {
      const cgp::AccountEntry level = cgp::account_entry(parts[k]);
      if (level.kind != cgp::AccountEntry::Kind::FolderDirectory) break;
      const std::string name = folder_name(b, level.encoded, parent, entry.path);
      b.containers.insert(name);
      parent = name;
      ++k;
    }
    if (k >= parts.size()) continue;
    const std::string& box = parts[k];
    const cgp::AccountEntry box_entry = cgp::account_entry(box);
    const bool is_mbox = box_entry.kind == cgp::AccountEntry::Kind::Mbox;
    const bool is_mdir = box_entry.kind == cgp::AccountEntry::Kind::Mdir;
    if (!is_mbox && !is_mdir) continue;  // account.settings, account.info, other service files
    const std::string name =
        single ? std::string("INBOX") : folder_name(b, box_entry.encoded, parent, entry.path);
    if (is_mbox && k + 1 == parts.size() && entry.type != EntryType::File) {
      // A mailbox that is no file is not a mailbox at all (cgp: reports the same and lists nothing).
      b.account.problems.push_back(
          Problem{.scope = Scope::Folder,
                  .domain = b.account.info.domain,
                  .account = b.account.info.name,
                  .file = entry_location(raw.archive, entry.path),
                  .message = entry.type == EntryType::Symlink     ? "symbolic link to a mailbox: not followed"
                             : entry.type == EntryType::Hardlink  ? "hard link to a mailbox: skipped"
                             : entry.type == EntryType::Directory ? "a .mbox mailbox must be a file; skipped"
                                                                  : "not a regular file: skipped"});
      continue;
    }
    if (is_mdir && k + 1 == parts.size() && entry.type != EntryType::Directory) {
      b.account.problems.push_back(Problem{.scope = Scope::Folder,
                                           .domain = b.account.info.domain,
                                           .account = b.account.info.name,
                                           .file = entry_location(raw.archive, entry.path),
                                           .message = "a .mdir mailbox must be a directory; skipped"});
      continue;
    }
    std::string box_path;
    for (std::size_t m = 0; m <= k; ++m) {
      if (m != 0) box_path += '/';
      box_path += parts[m];
    }
    box_path.insert(0, options.base);
    CatalogueFolder& folder = b.folders[name];
    if (folder.info.location.empty()) {
      folder.info = FolderInfo{.name = name,
                               .selectable = true,
                               .location = entry_location(raw.archive, box_path),
                               .format = is_mbox ? "mbox" : "mdir"};
    } else if (folder.info.location != entry_location(raw.archive, box_path)) {
      if (k + 1 == parts.size()) {
        b.account.problems.push_back(Problem{
            .scope = Scope::Folder,
            .domain = b.account.info.domain,
            .account = b.account.info.name,
            .folder = name,
            .file = entry_location(raw.archive, box_path),
            .message = fmt::format("two mailboxes named \"{}\" ({} and this one); only the first is read",
                                   name, folder.info.location)});
      }
      continue;
    }
    folder.first_ordinal = std::min(folder.first_ordinal, entry.ordinal);
    const bool message = is_mbox ? k + 1 == parts.size() : k + 2 == parts.size();
    if (!message || (is_mdir && parts[k + 1].starts_with('.'))) continue;
    const Problem context{.scope = Scope::Message,
                          .domain = b.account.info.domain,
                          .account = b.account.info.name,
                          .folder = name,
                          .file = entry_location(raw.archive, entry.path)};
    if (entry.type == EntryType::File) {
      folder.entries.push_back(MessageEntry{.ordinal = entry.ordinal,
                                            .path = entry.path,
                                            .name = is_mbox ? box : parts[k + 1],
                                            .size = entry.size,
                                            .mtime = entry.mtime});
    } else if (entry.type != EntryType::Directory) {
      Problem p = context;
      p.message = entry.type == EntryType::Symlink    ? "symbolic link in a mailbox: not followed"
                  : entry.type == EntryType::Hardlink ? "hard link in a mailbox: skipped"
                                                      : "not a regular file in a mailbox: ignored";
      b.account.problems.push_back(std::move(p));
    }
  }

  for (auto& [name, domain] : domains) {
    const std::string settings_path =
        domain.main
            ? options.base + std::string(cgp::kAccountsDir) + "/" + std::string(cgp::kDomainSettings)
            : domain.location.substr(raw.archive.size() + 2) + "/" + std::string(cgp::kDomainSettings);
    if (auto value =
            parse_text(raw, settings_path, out.problems, Problem{.scope = Scope::Domain, .domain = name})) {
      domain.aliases = cgp::domain_aliases(*value);
    }
  }
  // Main domain first, then by name, like cgp:.
  for (auto& [name, domain] : domains) {
    if (domain.main) out.domains.push_back(domain);
  }
  for (auto& [name, domain] : domains) {
    if (!domain.main) out.domains.push_back(domain);
  }
  for (auto& [key, b] : accounts) {
    std::set<std::string> subscribed;
    if (b.account.info.kind == "multi-mailbox") {
      if (auto value =
              parse_text(raw, b.dir + "/" + std::string(cgp::kAccountInfo), b.account.problems,
                         Problem{.scope = Scope::Account, .domain = key.domain, .account = key.name})) {
        for (std::string& folder : cgp::interpret_account_info(*value).subscribed) subscribed.insert(folder);
      }
    }
    std::vector<CatalogueFolder> folders;
    for (auto& [name, folder] : b.folders) {
      folder.info.subscribed = name == "INBOX" || subscribed.contains(name);
      folders.push_back(std::move(folder));
    }
    for (const std::string& name : b.containers) {
      if (b.folders.contains(name)) continue;
      CatalogueFolder container;
      container.info = FolderInfo{.name = name,
                                  .selectable = false,
                                  .subscribed = subscribed.contains(name),
                                  .location = b.account.info.location,
                                  .format = "dir"};
      folders.push_back(std::move(container));
    }
    std::uint64_t first = UINT64_MAX;
    for (const CatalogueFolder& f : folders) first = std::min(first, f.first_ordinal);
    for (CatalogueFolder& f : folders) {
      if (f.first_ordinal == UINT64_MAX) f.first_ordinal = first;
    }
    order_folders(folders, b.account.info.location);
    b.account.folders = std::move(folders);
    out.accounts.push_back(std::move(b.account));
  }
}

}  // namespace mailmig::archive
