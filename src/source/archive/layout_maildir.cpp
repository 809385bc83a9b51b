#include "source/archive/layout_maildir.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <unordered_map>

#include "core/ascii.h"
#include "core/fs.h"
#include "format/maildir/folder_names.h"
#include "format/maildir/uidlist.h"
#include "source/maildir/maildir_account.h"
#include "source/maildir/user_paths.h"

namespace mailmig::archive {
namespace {

std::string parent_of(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(path.substr(0, slash));
}

std::string last_of(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string regex_escape(std::string_view text) {
  static const std::string kSpecial = R"(\^$.|?*+()[]{})";
  std::string out;
  for (const char c : text) {
    if (kSpecial.find(c) != std::string::npos) out += '\\';
    out += c;
  }
  return out;
}

// The per-account work of build_maildir_accounts.
struct AccountBuilder {
  CatalogueAccount account;
  std::string root;
  std::map<std::string, CatalogueFolder> folders;  // by directory: "" (INBOX) or ".Name"
  std::set<std::string> selectable;                // directories with cur/ or messages
  std::string subscriptions;
};

bool is_mail_directory(std::string_view name) {
  return name == "cur" || name == "new";
}

// Takes a leading Maildir++ folder directory (".Name") off `parts`: that directory, or "" (INBOX).
std::string take_folder_directory(std::vector<std::string>& parts) {
  if (parts.empty() || !parts[0].starts_with('.') || parts[0] == "." || parts[0] == "..") return {};
  std::string dir = std::move(parts[0]);
  parts.erase(parts.begin());
  return dir;
}

void sort_by_archive_order(std::vector<MessageEntry>& entries) {
  std::stable_sort(entries.begin(), entries.end(),
                   [](const MessageEntry& x, const MessageEntry& y) { return x.ordinal < y.ordinal; });
}

// Walks the entries once, giving each to the innermost Maildir that holds it.
class MaildirAccountsBuilder {
 public:
  MaildirAccountsBuilder(const RawCatalogue& raw, const std::vector<MaildirRoot>& roots);

  void add(const EntryHeader& entry);
  std::vector<CatalogueAccount> finish();

 private:
  AccountBuilder* innermost_root(const std::string& path);
  CatalogueFolder& folder_of(AccountBuilder& b, const std::string& dir, const EntryHeader& entry);
  void add_message(AccountBuilder& b, CatalogueFolder& folder, const std::string& dir,
                   const EntryHeader& entry, const std::string& name);
  void add_hard_link(AccountBuilder& b, CatalogueFolder& folder, const std::string& folder_label,
                     const EntryHeader& entry, const std::string& name);
  bool describe_folder(AccountBuilder& b, const std::string& dir, CatalogueFolder& folder,
                       const std::set<std::string>& subscribed);
  CatalogueAccount finish_account(AccountBuilder& b);
  void problem(AccountBuilder& b, Scope scope, const std::string& folder, const std::string& path,
               std::string message);

  const RawCatalogue& raw_;
  std::vector<AccountBuilder> builders_;
  std::unordered_map<std::string, std::size_t> by_root_;
  // Regular files by name so far: a hard link's data is that of the file it names.
  std::unordered_map<std::string_view, const EntryHeader*> files_;
};

MaildirAccountsBuilder::MaildirAccountsBuilder(const RawCatalogue& raw, const std::vector<MaildirRoot>& roots)
    : raw_(raw) {
  for (const MaildirRoot& root : roots) {
    AccountBuilder b;
    b.root = root.root;
    b.account.info = AccountInfo{.domain = root.domain,
                                 .name = root.name,
                                 .real_name = root.real_name,
                                 .location = entry_location(raw.archive, root.root),
                                 .kind = "maildir"};
    by_root_.emplace(root.root, builders_.size());
    builders_.push_back(std::move(b));
  }
}

void MaildirAccountsBuilder::problem(AccountBuilder& b, Scope scope, const std::string& folder,
                                     const std::string& path, std::string message) {
  b.account.problems.push_back(Problem{.scope = scope,
                                       .domain = b.account.info.domain,
                                       .account = b.account.info.name,
                                       .folder = folder,
                                       .file = entry_location(raw_.archive, path),
                                       .message = std::move(message)});
}

AccountBuilder* MaildirAccountsBuilder::innermost_root(const std::string& path) {
  std::size_t cut = path.size();
  for (;;) {
    cut = cut == 0 ? std::string::npos : path.rfind('/', cut - 1);
    const std::string prefix = cut == std::string::npos ? std::string() : path.substr(0, cut);
    if (auto it = by_root_.find(prefix); it != by_root_.end()) return &builders_[it->second];
    if (cut == std::string::npos) return nullptr;
  }
}

void MaildirAccountsBuilder::add(const EntryHeader& entry) {
  if (entry.type == EntryType::File) files_[entry.path] = &entry;
  AccountBuilder* b = innermost_root(entry.path);
  if (b == nullptr) return;
  const std::string_view rel = b->root.empty() ? std::string_view(entry.path)
                                               : std::string_view(entry.path).substr(b->root.size() + 1);
  std::vector<std::string> parts = fs::path_components(rel);
  const std::string dir = take_folder_directory(parts);
  if (!dir.empty() && parts.empty() && entry.type != EntryType::Directory)
    return;  // a file named ".x" is no folder
  if (dir.empty() && parts.size() == 1 && parts[0] == "subscriptions") {
    if (auto text = raw_.texts.find(entry.path); text != raw_.texts.end()) b->subscriptions = text->second;
    return;
  }
  CatalogueFolder& folder = folder_of(*b, dir, entry);
  if (parts.size() == 1 && is_mail_directory(parts[0])) b->selectable.insert(dir);
  if (parts.size() == 1 && (parts[0] == "dovecot-uidlist" || parts[0] == "dovecot-keywords")) {
    auto text = raw_.texts.find(entry.path);
    if (text == raw_.texts.end()) return;
    if (parts[0] == "dovecot-uidlist") {
      folder.uidlist = text->second;
      folder.uidlist_path = entry.path;
    } else {
      folder.keywords = text->second;
    }
    return;
  }
  if (parts.size() != 2 || !is_mail_directory(parts[0])) return;  // tmp/, dovecot index files, ...
  if (parts[1].starts_with('.')) return;  // editors' and tools' hidden files are no mail
  b->selectable.insert(dir);
  add_message(*b, folder, dir, entry, fmt::format("{}/{}", parts[0], parts[1]));
}

// The folder of directory `dir` ("" for INBOX), made at the first entry in it.
CatalogueFolder& MaildirAccountsBuilder::folder_of(AccountBuilder& b, const std::string& dir,
                                                   const EntryHeader& entry) {
  CatalogueFolder& folder = b.folders[dir];
  folder.first_ordinal = std::min(folder.first_ordinal, entry.ordinal);
  if (folder.info.location.empty()) {
    folder.info.location = entry_location(raw_.archive, dir.empty()      ? b.root
                                                        : b.root.empty() ? dir
                                                                         : b.root + "/" + dir);
  }
  return folder;
}

// An entry of cur/ or new/, named `name` ("cur/<file>") in the folder.
void MaildirAccountsBuilder::add_message(AccountBuilder& b, CatalogueFolder& folder, const std::string& dir,
                                         const EntryHeader& entry, const std::string& name) {
  const std::string folder_label = dir.empty() ? "INBOX" : dir;
  switch (entry.type) {
    case EntryType::File:
      folder.entries.push_back(MessageEntry{.ordinal = entry.ordinal,
                                            .path = entry.path,
                                            .name = name,
                                            .size = entry.size,
                                            .mtime = entry.mtime});
      break;
    case EntryType::Symlink:
      problem(b, Scope::Message, folder_label, entry.path,
              fmt::format("symbolic link (to {}) in a Maildir: not followed", entry.link_target));
      break;
    case EntryType::Hardlink:
      add_hard_link(b, folder, folder_label, entry, name);
      break;
    case EntryType::Directory:
      break;
    case EntryType::Other:
      problem(b, Scope::Message, folder_label, entry.path, "not a regular file in a Maildir: ignored");
      break;
  }
}

// tar stores a file's other names as links to the first one it met. A link
// to a message of the same folder is read under that first name; a link to
// another folder's message (Dovecot copies messages with link()), to a file
// in tmp/ (a delivery caught between link() and unlink()) or outside the
// Maildirs is this folder's copy: read from the linked entry's data.
void MaildirAccountsBuilder::add_hard_link(AccountBuilder& b, CatalogueFolder& folder,
                                           const std::string& folder_label, const EntryHeader& entry,
                                           const std::string& name) {
  auto target = files_.find(entry.link_target);
  if (target == files_.end()) {
    problem(b, Scope::Message, folder_label, entry.path,
            fmt::format("hard link to {}, which is not a file earlier in the archive: skipped",
                        entry.link_target));
    return;
  }
  const EntryHeader& data = *target->second;
  const std::string target_dir = parent_of(data.path);
  const bool same_folder = is_mail_directory(last_of(target_dir)) &&
                           parent_of(target_dir) == parent_of(parent_of(entry.path)) &&
                           !last_of(data.path).starts_with('.');
  if (same_folder) {
    problem(b, Scope::Message, folder_label, entry.path,
            fmt::format("hard link to {} in a Maildir: skipped (the message is read under its first name)",
                        entry.link_target));
    return;
  }
  folder.entries.push_back(MessageEntry{
      .ordinal = data.ordinal, .path = data.path, .name = name, .size = data.size, .mtime = data.mtime});
}

std::vector<CatalogueAccount> MaildirAccountsBuilder::finish() {
  std::vector<CatalogueAccount> out;
  for (AccountBuilder& b : builders_) out.push_back(finish_account(b));
  return out;
}

CatalogueAccount MaildirAccountsBuilder::finish_account(AccountBuilder& b) {
  const std::set<std::string> subscribed = maildir::subscribed_folders(b.subscriptions);
  b.folders[""];  // INBOX exists even when the archive holds no entry of it
  std::vector<CatalogueFolder> folders;
  for (auto& [dir, folder] : b.folders) {
    if (describe_folder(b, dir, folder, subscribed)) folders.push_back(std::move(folder));
  }
  // Linked messages are read where their data is: in archive order, like the rest.
  for (CatalogueFolder& folder : folders) sort_by_archive_order(folder.entries);
  order_folders(folders, b.account.info.location);
  b.account.folders = std::move(folders);
  return std::move(b.account);
}

// Names and describes the folder of directory `dir`; false when it is not listed.
bool MaildirAccountsBuilder::describe_folder(AccountBuilder& b, const std::string& dir,
                                             CatalogueFolder& folder,
                                             const std::set<std::string>& subscribed) {
  std::string name = "INBOX";
  if (!dir.empty()) {
    const auto decoded = maildir::folder_of_directory(dir);
    name = decoded ? decoded->name : maildir::raw_folder_name(dir);
    if (!decoded || decoded->raw) problem(b, Scope::Folder, name, dir, maildir::undecoded_folder_name());
    if (name == "INBOX") return false;  // ".INBOX" would shadow the real INBOX
  }
  folder.info.name = name;
  folder.info.selectable = dir.empty() || b.selectable.contains(dir);
  folder.info.format = folder.info.selectable ? "maildir" : "dir";
  folder.info.subscribed = dir.empty() || subscribed.contains(name) || subscribed.contains("INBOX/" + name);
  if (folder.info.location.empty()) folder.info.location = b.account.info.location;
  if (!folder.uidlist.empty()) {
    if (const maildir::UidlistRead read = maildir::parse_uidlist(folder.uidlist); read.list)
      folder.info.uidvalidity = read.list->uidvalidity;
  }
  return true;
}

}  // namespace

std::vector<std::string> find_maildir_roots(const RawCatalogue& raw) {
  std::set<std::string> roots;
  for (const EntryHeader& entry : raw.entries) {
    if (entry.type != EntryType::File && entry.type != EntryType::Directory) continue;
    // ".../X/cur/<file>" or the directory ".../X/cur".
    std::string dir = entry.type == EntryType::File ? parent_of(entry.path) : entry.path;
    const std::string leaf = last_of(dir);
    if (leaf != "cur" && leaf != "new") continue;
    std::string root = parent_of(dir);
    if (last_of(root).starts_with('.')) root = parent_of(root);  // a Maildir++ subfolder
    roots.insert(root);
  }
  return {roots.begin(), roots.end()};
}

std::optional<std::pair<std::string, std::string>> match_user_path(const std::string& pattern,
                                                                   const std::string& path) {
  std::string expression = "^";
  std::vector<char> order;
  const std::string relative = normalize_entry_path(pattern);
  for (std::size_t i = 0; i < relative.size(); ++i) {
    if (relative[i] == '%' && i + 1 < relative.size()) {
      const char p = relative[i + 1];
      if (p == 'd' || p == 'n' || p == 'u') {
        expression += "([^/]+)";
        order.push_back(p);
        ++i;
        continue;
      }
      if (p == '%') ++i;
    }
    expression += regex_escape(std::string_view(&relative[i], 1));
  }
  expression += "$";
  std::smatch match;
  const std::regex re(expression);
  if (!std::regex_match(path, match, re)) return std::nullopt;
  std::map<char, std::string> bound;
  for (std::size_t i = 0; i < order.size(); ++i) {
    const std::string value = match[static_cast<int>(i) + 1].str();
    auto [it, fresh] = bound.emplace(order[i], value);
    if (!fresh && it->second != value) return std::nullopt;  // a placeholder used twice must agree
  }
  std::string domain;
  std::string name;
  if (auto u = bound.find('u'); u != bound.end()) std::tie(name, domain) = maildir::split_user(u->second);
  if (auto n = bound.find('n'); n != bound.end()) name = n->second;
  if (auto d = bound.find('d'); d != bound.end()) domain = ascii_lower(d->second);
  if (name.empty()) return std::nullopt;
  return std::make_pair(domain, name);
}

std::vector<CatalogueAccount> build_maildir_accounts(const RawCatalogue& raw,
                                                     const std::vector<MaildirRoot>& roots) {
  MaildirAccountsBuilder builder(raw, roots);
  for (const EntryHeader& entry : raw.entries) builder.add(entry);
  return builder.finish();
}

}  // namespace mailmig::archive
