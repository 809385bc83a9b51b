#include "source/maildir/maildir_account.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <map>

#include "core/error.h"
#include "core/fs.h"
#include "format/maildir/folder_names.h"
#include "source/maildir/maildir_folder.h"
#include "source/maildir/maildir_meta.h"
#include "source/maildir/user_paths.h"
#include "source/no_select_folder.h"

namespace mailmig::maildir {
namespace {

// A missing or unreadable subscriptions file: nothing subscribed.
std::string read_text(FileTree& tree, const std::string& path) {
  try {
    return tree.read_small(path, std::uint64_t{16} << 20U);
  } catch (const IoError&) {
    return {};  // no subscriptions file: nothing subscribed
  }
}

}  // namespace

std::set<std::string> subscribed_folders(std::string_view text) {
  const std::vector<std::string> names = parse_subscriptions(text);
  return {names.begin(), names.end()};
}

std::string undecoded_folder_name() {
  return "directory name is not valid modified UTF-7; folder listed under its raw name";
}

std::string raw_folder_name(std::string_view directory) {
  std::string name(directory.substr(1));
  std::replace(name.begin(), name.end(), '.', '/');
  return name;
}

MaildirAccount::MaildirAccount(AccountInfo info, std::shared_ptr<FileTree> tree)
    : info_(std::move(info)), tree_(std::move(tree)) {}

std::vector<FolderInfo> MaildirAccount::folders(const ProblemFn& problem) {
  const std::string& root = info_.location;
  const std::set<std::string> subscribed =
      subscribed_folders(read_text(*tree_, fs::join(root, "subscriptions")));
  const auto is_subscribed = [&](const std::string& name) {
    // Courier-style names carry the "INBOX." namespace prefix.
    return subscribed.contains(name) || subscribed.contains("INBOX/" + name);
  };
  std::map<std::string, FolderInfo> found;
  found.emplace("INBOX", FolderInfo{.name = "INBOX",
                                    .selectable = true,
                                    .subscribed = true,
                                    .location = root,
                                    .format = "maildir",
                                    .uidvalidity = read_uidvalidity(*tree_, root)});
  std::vector<TreeEntry> entries;
  try {
    entries = tree_->list(root);
  } catch (const IoError& e) {
    problem(Problem{.scope = Scope::Account, .file = root, .message = e.what()});
    return {};
  }
  for (const TreeEntry& entry : entries) {
    if (entry.name.size() < 2 || entry.name[0] != '.' || entry.name == "..") continue;
    if (entry.type != fs::Type::Directory) {
      if (entry.type == fs::Type::Symlink) {
        problem(Problem{.scope = Scope::Folder,
                        .file = fs::join(root, entry.name),
                        .message = "symbolic link to a folder: not followed"});
      }
      continue;
    }
    const std::string path = fs::join(root, entry.name);
    const std::optional<DirectoryFolder> decoded = folder_of_directory(entry.name);
    const std::string name = decoded ? decoded->name : raw_folder_name(entry.name);
    if (!decoded || decoded->raw) {
      problem(
          Problem{.scope = Scope::Folder, .folder = name, .file = path, .message = undecoded_folder_name()});
    }
    if (name == "INBOX") continue;  // ".INBOX" would shadow the real INBOX
    const bool selectable = is_directory(*tree_, fs::join(path, "cur"));
    FolderInfo folder{.name = name,
                      .selectable = selectable,
                      .subscribed = is_subscribed(name),
                      .location = path,
                      .format = selectable ? "maildir" : "dir",
                      .uidvalidity = selectable ? read_uidvalidity(*tree_, path) : std::nullopt};
    found.insert_or_assign(name, std::move(folder));
  }
  // Maildir++ stores ".A.B" without requiring ".A": the parent exists only as a name.
  std::vector<std::string> names;
  names.reserve(found.size());
  for (const auto& [name, folder] : found) names.push_back(name);
  for (const std::string& name : names) {
    for (std::size_t slash = name.find('/'); slash != std::string::npos; slash = name.find('/', slash + 1)) {
      const std::string parent = name.substr(0, slash);
      if (!found.contains(parent)) {
        found.emplace(parent, FolderInfo{.name = parent,
                                         .selectable = false,
                                         .subscribed = is_subscribed(parent),
                                         .location = root,
                                         .format = "dir"});
      }
    }
  }
  std::vector<FolderInfo> out;
  out.push_back(std::move(found.at("INBOX")));
  found.erase("INBOX");
  for (auto& [name, folder] : found) out.push_back(std::move(folder));  // map order: parents before children
  return out;
}

std::unique_ptr<Folder> MaildirAccount::open_folder(const FolderInfo& folder) const {
  if (!folder.selectable) return std::make_unique<NoSelectFolder>();
  return std::make_unique<MaildirFolder>(folder.location, tree_);
}

}  // namespace mailmig::maildir
