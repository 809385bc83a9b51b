#include "source/archive/layout_cgp.h"

#include <fmt/format.h>

#include <algorithm>
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

// "<base><parts[0]>/.../<parts[last]>": the entry path of a directory the walk passed through.
std::string joined_path(const std::string& base, const std::vector<std::string>& parts, std::size_t last) {
  std::string out = base;
  for (std::size_t k = 0; k <= last; ++k) {
    if (k != 0) out += '/';
    out += parts[k];
  }
  return out;
}

// The first component at or after `from` that is not a *.sub directory (at most kMaxSubdirDepth skipped).
std::size_t skip_subdirectories(const std::vector<std::string>& parts, std::size_t from) {
  std::size_t i = from;
  int depth = 0;
  while (i < parts.size() && cgp::domain_entry(parts[i]).kind == cgp::DomainEntry::Kind::SubDirectory &&
         depth < cgp::kMaxSubdirDepth) {
    ++i;
    ++depth;
  }
  return i;
}

const char* misplaced_mbox_text(EntryType type) {
  return type == EntryType::Symlink     ? "symbolic link to a mailbox: not followed"
         : type == EntryType::Hardlink  ? "hard link to a mailbox: skipped"
         : type == EntryType::Directory ? "a .mbox mailbox must be a file; skipped"
                                        : "not a regular file: skipped";
}

const char* not_a_message_text(EntryType type) {
  return type == EntryType::Symlink    ? "symbolic link in a mailbox: not followed"
         : type == EntryType::Hardlink ? "hard link in a mailbox: skipped"
                                       : "not a regular file in a mailbox: ignored";
}

// account.settings in a .macnt directory, <name>.settings next to a single mailbox.
std::string account_settings_path(const std::string& prefix, const std::string& top_name,
                                  const cgp::DomainEntry& top) {
  if (top.kind == cgp::DomainEntry::Kind::Account) return prefix + "/" + std::string(cgp::kAccountSettings);
  return prefix.substr(0, prefix.size() - top_name.size()) + cgp::single_mailbox_settings(top);
}

// The main domain's name (empty when nothing names it) and, in `origin`, what named it.
std::string named_main_domain(const RawCatalogue& raw, const CgpLayoutOptions& options,
                              std::vector<Problem>& problems, std::string& origin) {
  std::string main_domain = options.main_domain;
  origin = "option";
  if (main_domain.empty()) {
    if (auto value = parse_text(raw, options.base + std::string(cgp::kMainSettings), problems,
                                Problem{.scope = Scope::Store})) {
      if (auto name = cgp::main_domain_name(*value)) {
        main_domain = *name;
        origin = std::string(cgp::kMainSettings);
      }
    }
  }
  if (main_domain.empty() && !options.fallback_domain.empty()) {
    main_domain = options.fallback_domain;
    origin = "--domain";
  }
  return main_domain;
}

// As named_main_domain, lower case; throws when Accounts/ holds mail and nothing names its domain.
std::string main_domain_of(const RawCatalogue& raw, const CgpLayoutOptions& options,
                           std::vector<Problem>& problems, std::string& origin) {
  const std::string main_domain = named_main_domain(raw, options, problems, origin);
  const bool has_main = std::any_of(raw.entries.begin(), raw.entries.end(), [&](const EntryHeader& e) {
    return e.path.starts_with(options.base + std::string(cgp::kAccountsDir) + "/");
  });
  if (main_domain.empty() && has_main) {
    throw maildir::SourceError(
        fmt::format("{}: the CommuniGate store has no Settings/Main.settings naming its main domain "
                    "(Accounts/); name it with "
                    "--main-domain",
                    raw.archive));
  }
  return cgp::domain_name(main_domain);
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

// A mailbox entry's place: the mailbox (parts[at]) and the folder it holds.
struct MailboxPlace {
  std::size_t at = 0;
  std::string folder;
  bool mbox = false;  // else .mdir
  bool last = false;  // the entry is the mailbox itself, not something in it
};

// Walks the entries once, collecting domains, accounts and their mailboxes.
class CgpCatalogueBuilder {
 public:
  CgpCatalogueBuilder(const RawCatalogue& raw, const CgpLayoutOptions& options, std::string main_domain)
      : raw_(raw), options_(options), main_domain_(std::move(main_domain)) {}

  void add(const EntryHeader& entry);
  void finish(Catalogue& out);

 private:
  std::optional<std::string> domain_of(const std::vector<std::string>& parts, std::size_t& next);
  void add_domain(const std::string& name, bool main, const std::string& path);
  AccountBuilder* account_of(const std::string& domain, const std::vector<std::string>& parts, std::size_t at,
                             const cgp::DomainEntry& top);
  void read_account_settings(AccountBuilder& b, const std::string& path);
  void add_account_entry(AccountBuilder& b, const EntryHeader& entry, const std::vector<std::string>& parts,
                         std::size_t first, bool single);
  std::optional<MailboxPlace> mailbox_of(AccountBuilder& b, const EntryHeader& entry,
                                         const std::vector<std::string>& parts, std::size_t first,
                                         bool single);
  std::string folder_name(AccountBuilder& b, const std::string& encoded, const std::string& parent,
                          const std::string& path);
  bool misplaced_mailbox(AccountBuilder& b, const EntryHeader& entry, const MailboxPlace& box);
  CatalogueFolder* folder_of(AccountBuilder& b, const MailboxPlace& box, const std::string& box_path);
  void add_message(AccountBuilder& b, CatalogueFolder& folder, const EntryHeader& entry,
                   const std::string& name, const std::string& folder_label);
  void read_domain_settings(Catalogue& out);
  CatalogueAccount finish_account(const AccountKey& key, AccountBuilder& b);

  const RawCatalogue& raw_;
  const CgpLayoutOptions& options_;
  const std::string main_domain_;
  std::map<std::string, DomainInfo> domains_;
  std::map<AccountKey, AccountBuilder> accounts_;
};

void CgpCatalogueBuilder::add_domain(const std::string& name, bool main, const std::string& path) {
  if (domains_.contains(name)) return;
  domains_.emplace(name,
                   DomainInfo{.name = name, .main = main, .location = entry_location(raw_.archive, path)});
}

// The domain an entry belongs to; `next` is set to the first component below the domain directory.
std::optional<std::string> CgpCatalogueBuilder::domain_of(const std::vector<std::string>& parts,
                                                          std::size_t& next) {
  if (parts.empty()) return std::nullopt;
  if (parts[0] == cgp::kAccountsDir) {
    next = 1;
    add_domain(main_domain_, true, options_.base + parts[0]);
    return main_domain_;
  }
  if (parts[0] == cgp::kDomainsDir && parts.size() >= 2) {
    next = 2;
    const std::string name = cgp::domain_name(parts[1]);
    add_domain(name, false, options_.base + parts[0] + "/" + parts[1]);
    return name;
  }
  return std::nullopt;
}

std::string CgpCatalogueBuilder::folder_name(AccountBuilder& b, const std::string& encoded,
                                             const std::string& parent, const std::string& path) {
  cgp::FolderLevel level = cgp::folder_level(encoded, parent);
  if (level.raw) {
    b.account.problems.push_back(Problem{.scope = Scope::Folder,
                                         .domain = b.account.info.domain,
                                         .account = b.account.info.name,
                                         .folder = level.name,
                                         .file = entry_location(raw_.archive, path),
                                         .message = std::string(cgp::kUndecodedFolderName)});
  }
  return std::move(level.name);
}

void CgpCatalogueBuilder::add(const EntryHeader& entry) {
  if (!entry.path.starts_with(options_.base) || entry.path.size() == options_.base.size()) return;
  const std::vector<std::string> parts =
      fs::path_components(std::string_view(entry.path).substr(options_.base.size()));
  std::size_t i = 0;
  const std::optional<std::string> domain = domain_of(parts, i);
  if (!domain) return;
  i = skip_subdirectories(parts, i);
  if (i >= parts.size()) return;
  const cgp::DomainEntry top = cgp::domain_entry(parts[i]);
  const bool multi = top.kind == cgp::DomainEntry::Kind::Account;
  const bool single = top.kind == cgp::DomainEntry::Kind::SingleMailbox;
  if (!multi && !single) return;
  AccountBuilder* b = account_of(*domain, parts, i, top);
  if (b == nullptr) return;
  // Inside the account: X.folder/ ... Y.mbox | Y.mdir/<message>.
  add_account_entry(*b, entry, parts, single ? i : i + 1, single);
}

// The account whose directory (or single mailbox) is parts[at], made on its first entry;
// nullptr for a second copy of it, which is not read.
AccountBuilder* CgpCatalogueBuilder::account_of(const std::string& domain,
                                                const std::vector<std::string>& parts, std::size_t at,
                                                const cgp::DomainEntry& top) {
  const std::string prefix = joined_path(options_.base, parts, at);
  AccountBuilder& b = accounts_[AccountKey{domain, top.account}];
  if (b.dir.empty()) {
    b.dir = prefix;
    b.account.info =
        AccountInfo{.domain = domain,
                    .name = top.account,
                    .location = entry_location(raw_.archive, prefix),
                    .kind = top.kind == cgp::DomainEntry::Kind::Account ? "multi-mailbox" : "single-mailbox"};
    read_account_settings(b, account_settings_path(prefix, parts[at], top));
    return &b;
  }
  if (b.dir == prefix) return &b;
  // The same account under two *.sub paths: only the first copy is read.
  if (at + 1 == parts.size()) {
    b.account.problems.push_back(Problem{
        .scope = Scope::Account,
        .domain = domain,
        .account = top.account,
        .file = entry_location(raw_.archive, prefix),
        .message =
            fmt::format("account stored twice (also {}); only that one is read", b.account.info.location)});
  }
  return nullptr;
}

void CgpCatalogueBuilder::read_account_settings(AccountBuilder& b, const std::string& path) {
  const Problem context{
      .scope = Scope::Account, .domain = b.account.info.domain, .account = b.account.info.name};
  if (auto value = parse_text(raw_, path, b.account.problems, context)) {
    cgp::AccountSettings s = cgp::interpret_account_settings(*value);
    b.account.info.password = std::move(s.password);
    b.account.info.real_name = std::move(s.real_name);
  }
}

void CgpCatalogueBuilder::add_account_entry(AccountBuilder& b, const EntryHeader& entry,
                                            const std::vector<std::string>& parts, std::size_t first,
                                            bool single) {
  const std::optional<MailboxPlace> box = mailbox_of(b, entry, parts, first, single);
  if (!box || misplaced_mailbox(b, entry, *box)) return;
  CatalogueFolder* folder = folder_of(b, *box, joined_path(options_.base, parts, box->at));
  if (folder == nullptr) return;
  folder->first_ordinal = std::min(folder->first_ordinal, entry.ordinal);
  const bool message = box->mbox ? box->last : box->at + 2 == parts.size();
  if (!message || (!box->mbox && parts[box->at + 1].starts_with('.'))) return;
  add_message(b, *folder, entry, box->mbox ? parts[box->at] : parts[box->at + 1], box->folder);
}

// The mailbox below the account's X.folder directories that the entry is or lies in; the
// directories passed are the account's containers. nullopt when the entry is in no mailbox.
std::optional<MailboxPlace> CgpCatalogueBuilder::mailbox_of(AccountBuilder& b, const EntryHeader& entry,
                                                            const std::vector<std::string>& parts,
                                                            std::size_t first, bool single) {
  std::string parent;
  std::size_t k = first;
  while (k < parts.size()) {
    const cgp::AccountEntry level = cgp::account_entry(parts[k]);
    if (level.kind != cgp::AccountEntry::Kind::FolderDirectory) break;
    std::string name = folder_name(b, level.encoded, parent, entry.path);
    b.containers.insert(name);
    parent = std::move(name);
    ++k;
  }
  if (k >= parts.size()) return std::nullopt;
  const cgp::AccountEntry box = cgp::account_entry(parts[k]);
  const bool is_mbox = box.kind == cgp::AccountEntry::Kind::Mbox;
  const bool is_mdir = box.kind == cgp::AccountEntry::Kind::Mdir;
  if (!is_mbox && !is_mdir) return std::nullopt;  // account.settings, account.info, other service files
  return MailboxPlace{
      .at = k,
      .folder = single ? std::string("INBOX") : folder_name(b, box.encoded, parent, entry.path),
      .mbox = is_mbox,
      .last = k + 1 == parts.size()};
}

// True (and reported) when the mailbox itself is of the wrong type: an .mbox must be a
// file, an .mdir a directory (cgp: reports the same and lists nothing).
bool CgpCatalogueBuilder::misplaced_mailbox(AccountBuilder& b, const EntryHeader& entry,
                                            const MailboxPlace& box) {
  if (!box.last || entry.type == (box.mbox ? EntryType::File : EntryType::Directory)) return false;
  b.account.problems.push_back(Problem{.scope = Scope::Folder,
                                       .domain = b.account.info.domain,
                                       .account = b.account.info.name,
                                       .file = entry_location(raw_.archive, entry.path),
                                       .message = box.mbox ? misplaced_mbox_text(entry.type)
                                                           : "a .mdir mailbox must be a directory; skipped"});
  return true;
}

// The folder read from the mailbox at `box_path`; nullptr when another mailbox of the same
// name was met first (only that one is read).
CatalogueFolder* CgpCatalogueBuilder::folder_of(AccountBuilder& b, const MailboxPlace& box,
                                                const std::string& box_path) {
  CatalogueFolder& folder = b.folders[box.folder];
  const std::string location = entry_location(raw_.archive, box_path);
  if (folder.info.location.empty()) {
    folder.info = FolderInfo{
        .name = box.folder, .selectable = true, .location = location, .format = box.mbox ? "mbox" : "mdir"};
    return &folder;
  }
  if (folder.info.location == location) return &folder;
  if (box.last) {
    b.account.problems.push_back(
        Problem{.scope = Scope::Folder,
                .domain = b.account.info.domain,
                .account = b.account.info.name,
                .folder = box.folder,
                .file = location,
                .message = fmt::format("two mailboxes named \"{}\" ({} and this one); only the first is read",
                                       box.folder, folder.info.location)});
  }
  return nullptr;
}

void CgpCatalogueBuilder::add_message(AccountBuilder& b, CatalogueFolder& folder, const EntryHeader& entry,
                                      const std::string& name, const std::string& folder_label) {
  if (entry.type == EntryType::File) {
    folder.entries.push_back(MessageEntry{.ordinal = entry.ordinal,
                                          .path = entry.path,
                                          .name = name,
                                          .size = entry.size,
                                          .mtime = entry.mtime});
  } else if (entry.type != EntryType::Directory) {
    b.account.problems.push_back(Problem{.scope = Scope::Message,
                                         .domain = b.account.info.domain,
                                         .account = b.account.info.name,
                                         .folder = folder_label,
                                         .file = entry_location(raw_.archive, entry.path),
                                         .message = not_a_message_text(entry.type)});
  }
}

void CgpCatalogueBuilder::read_domain_settings(Catalogue& out) {
  for (auto& [name, domain] : domains_) {
    const std::string settings_path =
        domain.main
            ? options_.base + std::string(cgp::kAccountsDir) + "/" + std::string(cgp::kDomainSettings)
            : domain.location.substr(raw_.archive.size() + 2) + "/" + std::string(cgp::kDomainSettings);
    if (auto value =
            parse_text(raw_, settings_path, out.problems, Problem{.scope = Scope::Domain, .domain = name})) {
      domain.aliases = cgp::domain_aliases(*value);
    }
  }
}

void CgpCatalogueBuilder::finish(Catalogue& out) {
  read_domain_settings(out);
  // Main domain first, then by name, like cgp:.
  for (auto& [name, domain] : domains_) {
    if (domain.main) out.domains.push_back(domain);
  }
  for (auto& [name, domain] : domains_) {
    if (!domain.main) out.domains.push_back(domain);
  }
  for (auto& [key, b] : accounts_) out.accounts.push_back(finish_account(key, b));
}

CatalogueAccount CgpCatalogueBuilder::finish_account(const AccountKey& key, AccountBuilder& b) {
  std::set<std::string> subscribed;
  if (b.account.info.kind == "multi-mailbox") {
    if (auto value =
            parse_text(raw_, b.dir + "/" + std::string(cgp::kAccountInfo), b.account.problems,
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
  // A directory-only folder sorts with the account's first mailbox.
  std::uint64_t first = UINT64_MAX;
  for (const CatalogueFolder& f : folders) first = std::min(first, f.first_ordinal);
  for (CatalogueFolder& f : folders) {
    if (f.first_ordinal == UINT64_MAX) f.first_ordinal = first;
  }
  order_folders(folders, b.account.info.location);
  b.account.folders = std::move(folders);
  return std::move(b.account);
}

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
  CgpCatalogueBuilder builder(raw, options, main_domain_of(raw, options, out.problems, main_domain_origin));
  for (const EntryHeader& entry : raw.entries) builder.add(entry);
  builder.finish(out);
}

}  // namespace mailmig::archive
