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
  std::vector<AccountBuilder> builders;
  std::unordered_map<std::string, std::size_t> by_root;
  for (const MaildirRoot& root : roots) {
    AccountBuilder b;
    b.root = root.root;
    b.account.info = AccountInfo{.domain = root.domain,
                                 .name = root.name,
                                 .real_name = root.real_name,
                                 .location = entry_location(raw.archive, root.root),
                                 .kind = "maildir"};
    by_root.emplace(root.root, builders.size());
    builders.push_back(std::move(b));
  }
  const auto problem = [&](AccountBuilder& b, Scope scope, const std::string& folder, const std::string& path,
                           std::string message) {
    b.account.problems.push_back(Problem{.scope = scope,
                                         .domain = b.account.info.domain,
                                         .account = b.account.info.name,
                                         .folder = folder,
                                         .file = entry_location(raw.archive, path),
                                         .message = std::move(message)});
  };
  // Regular files by name so far: a hard link's data is that of the file it names.
  std::unordered_map<std::string_view, const EntryHeader*> files;
  for (const EntryHeader& entry : raw.entries) {
    if (entry.type == EntryType::File) files[entry.path] = &entry;
    // The innermost root that contains the entry.
    AccountBuilder* b = nullptr;
    std::size_t cut = entry.path.size();
    for (;;) {
      cut = cut == 0 ? std::string::npos : entry.path.rfind('/', cut - 1);
      const std::string prefix = cut == std::string::npos ? std::string() : entry.path.substr(0, cut);
      if (auto it = by_root.find(prefix); it != by_root.end()) {
        b = &builders[it->second];
        break;
      }
      if (cut == std::string::npos) break;
    }
    if (b == nullptr) continue;
    const std::string_view rel = b->root.empty() ? std::string_view(entry.path)
                                                 : std::string_view(entry.path).substr(b->root.size() + 1);
    std::vector<std::string> parts = fs::path_components(rel);
    std::string dir;
    if (!parts.empty() && parts[0].starts_with('.') && parts[0] != "." && parts[0] != "..") {
      dir = parts[0];
      parts.erase(parts.begin());
      if (parts.empty() && entry.type != EntryType::Directory) continue;  // a file named ".x" is no folder
    } else if (parts.size() == 1 && parts[0] == "subscriptions") {
      if (auto text = raw.texts.find(entry.path); text != raw.texts.end()) b->subscriptions = text->second;
      continue;
    }
    CatalogueFolder& folder = b->folders[dir];
    folder.first_ordinal = std::min(folder.first_ordinal, entry.ordinal);
    if (folder.info.location.empty()) {
      folder.info.location = entry_location(raw.archive, dir.empty()       ? b->root
                                                         : b->root.empty() ? dir
                                                                           : b->root + "/" + dir);
    }
    if (parts.size() == 1 && (parts[0] == "cur" || parts[0] == "new")) b->selectable.insert(dir);
    if (parts.size() == 1 && (parts[0] == "dovecot-uidlist" || parts[0] == "dovecot-keywords")) {
      auto text = raw.texts.find(entry.path);
      if (text == raw.texts.end()) continue;
      if (parts[0] == "dovecot-uidlist") {
        folder.uidlist = text->second;
        folder.uidlist_path = entry.path;
      } else {
        folder.keywords = text->second;
      }
      continue;
    }
    if (parts.size() != 2 || (parts[0] != "cur" && parts[0] != "new"))
      continue;  // tmp/, dovecot index files, ...
    const std::string file(parts[1]);
    if (file.starts_with('.')) continue;  // editors' and tools' hidden files are no mail
    b->selectable.insert(dir);
    const std::string folder_label = dir.empty() ? "INBOX" : dir;
    switch (entry.type) {
      case EntryType::File:
        folder.entries.push_back(MessageEntry{.ordinal = entry.ordinal,
                                              .path = entry.path,
                                              .name = fmt::format("{}/{}", parts[0], file),
                                              .size = entry.size,
                                              .mtime = entry.mtime});
        break;
      case EntryType::Symlink:
        problem(*b, Scope::Message, folder_label, entry.path,
                fmt::format("symbolic link (to {}) in a Maildir: not followed", entry.link_target));
        break;
      case EntryType::Hardlink: {
        // tar stores a file's other names as links to the first one it met.
        // A link to a message of the same folder is read under that first
        // name; a link to another folder's message (Dovecot copies messages
        // with link()), to a file in tmp/ (a delivery caught between link()
        // and unlink()) or outside the Maildirs is this folder's copy: read
        // from the linked entry's data.
        auto target = files.find(entry.link_target);
        const std::string target_dir =
            target == files.end() ? std::string() : parent_of(target->second->path);
        const bool same_folder = (last_of(target_dir) == "cur" || last_of(target_dir) == "new") &&
                                 parent_of(target_dir) == parent_of(parent_of(entry.path)) &&
                                 !last_of(target->second->path).starts_with('.');
        if (target == files.end() || same_folder) {
          problem(
              *b, Scope::Message, folder_label, entry.path,
              target == files.end()
                  ? fmt::format("hard link to {}, which is not a file earlier in the archive: skipped",
                                entry.link_target)
                  : fmt::format(
                        "hard link to {} in a Maildir: skipped (the message is read under its first name)",
                        entry.link_target));
          break;
        }
        folder.entries.push_back(MessageEntry{.ordinal = target->second->ordinal,
                                              .path = target->second->path,
                                              .name = fmt::format("{}/{}", parts[0], file),
                                              .size = target->second->size,
                                              .mtime = target->second->mtime});
        break;
      }
      case EntryType::Directory:
        break;
      case EntryType::Other:
        problem(*b, Scope::Message, folder_label, entry.path, "not a regular file in a Maildir: ignored");
        break;
    }
  }
  std::vector<CatalogueAccount> out;
  for (AccountBuilder& b : builders) {
    const std::set<std::string> subscribed = maildir::subscribed_folders(b.subscriptions);
    b.folders[""];  // INBOX exists even when the archive holds no entry of it
    std::vector<CatalogueFolder> folders;
    for (auto& [dir, folder] : b.folders) {
      std::string name = "INBOX";
      if (!dir.empty()) {
        const auto decoded = maildir::folder_of_directory(dir);
        name = decoded ? decoded->name : maildir::raw_folder_name(dir);
        if (!decoded || decoded->raw) problem(b, Scope::Folder, name, dir, maildir::undecoded_folder_name());
        if (name == "INBOX") continue;  // ".INBOX" would shadow the real INBOX
      }
      folder.info.name = name;
      folder.info.selectable = dir.empty() || b.selectable.contains(dir);
      folder.info.format = folder.info.selectable ? "maildir" : "dir";
      folder.info.subscribed =
          dir.empty() || subscribed.contains(name) || subscribed.contains("INBOX/" + name);
      if (folder.info.location.empty()) folder.info.location = b.account.info.location;
      if (!folder.uidlist.empty()) {
        if (const maildir::UidlistRead read = maildir::parse_uidlist(folder.uidlist); read.list)
          folder.info.uidvalidity = read.list->uidvalidity;
      }
      folders.push_back(std::move(folder));
    }
    // Linked messages are read where their data is: in archive order, like the rest.
    for (CatalogueFolder& folder : folders) {
      std::stable_sort(folder.entries.begin(), folder.entries.end(),
                       [](const MessageEntry& x, const MessageEntry& y) { return x.ordinal < y.ordinal; });
    }
    order_folders(folders, b.account.info.location);
    b.account.folders = std::move(folders);
    out.push_back(std::move(b.account));
  }
  return out;
}

}  // namespace mailmig::archive
