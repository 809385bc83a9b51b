#include "source/archive/layout_cgp.h"

#include <fmt/format.h>

#include <map>
#include <set>
#include <tuple>

#include "core/ascii.h"
#include "core/fs.h"
#include "format/cgp/cgp_text.h"
#include "format/mutf7.h"
#include "source/cgp/settings.h"
#include "source/maildir/user_paths.h"

namespace mailmig::archive {
namespace {

constexpr std::size_t kMaxSubdirDepth = 8;  // nested *.sub directories, as cgp/store.cpp

std::string stem(const std::string& name, std::string_view suffix) {
  return name.substr(0, name.size() - suffix.size());
}

bool has_suffix(const std::string& name, std::string_view suffix) {
  return name.size() > suffix.size() && name.ends_with(suffix);
}

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
      if (parts[depth] != "Accounts" && parts[depth] != "Domains") continue;
      // A mail-bearing name below it, so a stray "Accounts" directory is not taken for a store.
      for (std::size_t i = depth + 1; i < parts.size(); ++i) {
        if (has_suffix(parts[i], ".macnt") || has_suffix(parts[i], ".mbox") ||
            has_suffix(parts[i], ".mdir")) {
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
    if (auto value = parse_text(raw, options.base + "Settings/Main.settings", out.problems,
                                Problem{.scope = Scope::Store})) {
      if (auto name = cgp::main_domain_name(*value)) {
        main_domain = *name;
        main_domain_origin = "Settings/Main.settings";
      }
    }
  }
  if (main_domain.empty() && !options.fallback_domain.empty()) {
    main_domain = options.fallback_domain;
    main_domain_origin = "--domain";
  }
  const bool has_main =
      raw.entries.end() != std::find_if(raw.entries.begin(), raw.entries.end(), [&](const EntryHeader& e) {
        return e.path.starts_with(options.base + "Accounts/");
      });
  if (main_domain.empty() && has_main) {
    throw maildir::SourceError(
        fmt::format("{}: the CommuniGate store has no Settings/Main.settings naming its main domain "
                    "(Accounts/); name it with "
                    "--main-domain",
                    raw.archive));
  }
  main_domain = ascii_lower(main_domain);

  std::map<std::string, DomainInfo> domains;
  std::map<AccountKey, AccountBuilder> accounts;
  const auto domain_of = [&](const std::vector<std::string>& parts,
                             std::size_t& next) -> std::optional<std::string> {
    if (parts.empty()) return std::nullopt;
    if (parts[0] == "Accounts") {
      next = 1;
      if (!domains.contains(main_domain)) {
        domains.emplace(main_domain,
                        DomainInfo{.name = main_domain,
                                   .main = true,
                                   .location = entry_location(raw.archive, options.base + "Accounts")});
      }
      return main_domain;
    }
    if (parts[0] == "Domains" && parts.size() >= 2) {
      next = 2;
      const std::string name = ascii_lower(parts[1]);
      if (!domains.contains(name)) {
        domains.emplace(
            name, DomainInfo{.name = name,
                             .main = false,
                             .location = entry_location(raw.archive, options.base + "Domains/" + parts[1])});
      }
      return name;
    }
    return std::nullopt;
  };
  const auto folder_name = [&](AccountBuilder& b, const std::string& encoded, const std::string& parent,
                               const std::string& path) {
    std::string name;
    if (auto decoded = mutf7_decode(encoded)) {
      name = *decoded;
    } else {
      name = encoded;
      b.account.problems.push_back(
          Problem{.scope = Scope::Folder,
                  .domain = b.account.info.domain,
                  .account = b.account.info.name,
                  .folder = parent.empty() ? encoded : parent + "/" + encoded,
                  .file = entry_location(raw.archive, path),
                  .message = "file name is not valid modified UTF-7; folder listed under its raw name"});
    }
    if (parent.empty() && ascii_lower(name) == "inbox") name = "INBOX";
    return parent.empty() ? name : parent + "/" + name;
  };

  for (const EntryHeader& entry : raw.entries) {
    if (!entry.path.starts_with(options.base) || entry.path.size() == options.base.size()) continue;
    const std::vector<std::string> parts =
        fs::path_components(std::string_view(entry.path).substr(options.base.size()));
    std::size_t i = 0;
    const std::optional<std::string> domain = domain_of(parts, i);
    if (!domain) continue;
    std::size_t depth = 0;
    while (i < parts.size() && has_suffix(parts[i], ".sub") && depth < kMaxSubdirDepth) {
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
    const bool multi = has_suffix(top, ".macnt");
    const bool single = !multi && (has_suffix(top, ".mbox") || has_suffix(top, ".mdir"));
    if (!multi && !single) continue;
    const std::string account_name = ascii_lower(stem(top, multi ? ".macnt" : top.substr(top.size() - 5)));
    AccountBuilder& b = accounts[AccountKey{*domain, account_name}];
    if (b.dir.empty()) {
      b.dir = prefix;
      b.account.info = AccountInfo{.domain = *domain,
                                   .name = account_name,
                                   .location = entry_location(raw.archive, prefix),
                                   .kind = multi ? "multi-mailbox" : "single-mailbox"};
      const Problem context{.scope = Scope::Account, .domain = *domain, .account = account_name};
      const std::string dir = prefix.substr(0, prefix.size() - top.size());
      const std::string settings =
          multi ? prefix + "/account.settings" : dir + stem(top, top.substr(top.size() - 5)) + ".settings";
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
    while (k < parts.size() && has_suffix(parts[k], ".folder")) {
      const std::string name = folder_name(b, stem(parts[k], ".folder"), parent, entry.path);
      b.containers.insert(name);
      parent = name;
      ++k;
    }
    if (k >= parts.size()) continue;
    const std::string& box = parts[k];
    const bool is_mbox = has_suffix(box, ".mbox");
    const bool is_mdir = has_suffix(box, ".mdir");
    if (!is_mbox && !is_mdir) continue;  // account.settings, account.info, other service files
    const std::string name = single
                                 ? std::string("INBOX")
                                 : folder_name(b, stem(box, is_mbox ? ".mbox" : ".mdir"), parent, entry.path);
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
        domain.main ? options.base + "Accounts/Settings/Domain.settings"
                    : domain.location.substr(raw.archive.size() + 2) + "/Settings/Domain.settings";
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
              parse_text(raw, b.dir + "/account.info", b.account.problems,
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
