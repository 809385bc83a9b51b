#include "source/maildir/maildir_account.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <map>

#include "core/ascii.h"
#include "core/error.h"
#include "core/fs.h"
#include "format/mutf7.h"
#include "source/maildir/maildir_folder.h"
#include "source/maildir/maildir_meta.h"
#include "source/maildir/user_paths.h"

namespace mailmig::maildir {
namespace {

// A directory-only folder (a parent whose own directory is missing or has no cur/).
class NoSelectFolder final : public Folder {
 public:
  void scan(const std::function<void(const MessageInfo&)>& /*on_message*/,
            const ProblemFn& /*problem*/) override {}
  [[nodiscard]] std::unique_ptr<ByteReader> open(const MessageInfo& message) const override {
    throw IoError(message.file, ENOENT, "a directory-only folder has no messages");
  }
};

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  for (;;) {
    const std::size_t end = text.find(separator, pos);
    out.emplace_back(text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos));
    if (end == std::string_view::npos) return out;
    pos = end + 1;
  }
}

std::string join_names(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& part : parts) out += (out.empty() ? "" : "/") + part;
  return out;
}

std::string normalize_inbox(std::string name) {
  if (ascii_lower(name.substr(0, 5)) == "inbox" && (name.size() == 5 || name[5] == '/'))
    name.replace(0, 5, "INBOX");
  return name;
}

// A missing or unreadable subscriptions file: nothing subscribed.
std::string read_text(FileTree& tree, const std::string& path) {
  try {
    return tree.read_small(path, std::uint64_t{16} << 20U);
  } catch (const IoError&) {
    return {};  // no subscriptions file: nothing subscribed
  }
}

}  // namespace

std::optional<std::string> maildir_folder_name(std::string_view directory) {
  if (directory.starts_with('.')) directory.remove_prefix(1);
  std::vector<std::string> parts;
  for (const std::string& part : split(directory, '.')) {
    auto decoded = mutf7_decode(part);
    if (!decoded || decoded->empty()) return std::nullopt;
    parts.push_back(std::move(*decoded));
  }
  return normalize_inbox(join_names(parts));
}

std::set<std::string> parse_subscriptions(std::string_view text) {
  std::set<std::string> out;
  std::vector<std::string> lines = split(text, '\n');
  const bool v2 = !lines.empty() && lines[0].starts_with("V\t");
  for (std::size_t i = v2 ? 1 : 0; i < lines.size(); ++i) {
    std::string line = lines[i];
    if (line.ends_with('\r')) line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> parts = split(line, v2 ? '\t' : '.');
    for (std::string& part : parts) {
      if (auto decoded = mutf7_decode(part)) part = *decoded;  // v1 names are mUTF-7, v2 names UTF-8
    }
    out.insert(normalize_inbox(join_names(parts)));
  }
  return out;
}

MaildirAccount::MaildirAccount(AccountInfo info, std::shared_ptr<FileTree> tree)
    : info_(std::move(info)), tree_(std::move(tree)) {}

std::vector<FolderInfo> MaildirAccount::folders(const ProblemFn& problem) {
  const std::string& root = info_.location;
  std::set<std::string> subscribed = parse_subscriptions(read_text(*tree_, fs::join(root, "subscriptions")));
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
    std::string name;
    if (auto decoded = maildir_folder_name(entry.name)) {
      name = *decoded;
    } else {
      std::vector<std::string> parts = split(std::string_view(entry.name).substr(1), '.');
      name = normalize_inbox(join_names(parts));
      problem(
          Problem{.scope = Scope::Folder,
                  .folder = name,
                  .file = path,
                  .message = "directory name is not valid modified UTF-7; folder listed under its raw name"});
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
