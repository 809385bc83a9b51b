#include "source/mbox/mbox_account.h"

#include <fcntl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>

#include "core/ascii.h"
#include "core/error.h"
#include "core/file_read.h"
#include "core/fs.h"
#include "core/text_fields.h"
#include "format/mutf7.h"
#include "source/maildir/user_paths.h"
#include "source/mbox/mbox_folder.h"
#include "source/no_select_folder.h"

namespace mailmig::mbox {
namespace {

constexpr int kMaxDepth = 32;  // deeper is a loop or garbage

// A missing or unreadable subscriptions file: nothing subscribed.
std::string read_text(const std::string& path) {
  try {
    return read_small_file(path, std::uint64_t{16} << 20U);
  } catch (const IoError&) {
    return {};
  }
}

// Dovecot's mbox .subscriptions: one name per line, '/' separated.
std::set<std::string> parse_subscriptions(const std::string& text) {
  std::set<std::string> out;
  for (const std::string_view view : text_lines(text)) {
    const std::string line(view);
    if (!line.empty() && !line.starts_with("V\t")) out.insert(mutf7_decode(line).value_or(line));
  }
  return out;
}

}  // namespace

MboxAccount::MboxAccount(AccountInfo info, std::string inbox, MboxFormat format)
    : info_(std::move(info)), inbox_(std::move(inbox)), format_(format) {
  if (maildir::is_directory(info_.location))
    subscribed_ = parse_subscriptions(read_text(fs::join(info_.location, ".subscriptions")));
}

std::optional<FolderInfo> MboxAccount::file_folder(const std::string& path, const std::string& name,
                                                   const ProblemFn& problem) const {
  FilePeek peek;
  try {
    peek = peek_file(path);
  } catch (const IoError& e) {
    problem(Problem{
        .scope = Scope::Folder, .folder = name, .file = path, .offset = e.offset(), .message = e.what()});
    return std::nullopt;
  }
  if (!peek.empty && !peek.mbox) {
    problem(Problem{.scope = Scope::Folder,
                    .folder = name,
                    .file = path,
                    .offset = 0,
                    .message = "does not start with a \"From \" line: not an mbox file; skipped"});
    return std::nullopt;
  }
  FolderInfo folder{.name = name,
                    .selectable = true,
                    .subscribed = name == "INBOX" || subscribed_.contains(name),
                    .location = path,
                    .format = "mbox"};
  if (peek.facts.base) folder.uidvalidity = peek.facts.base->uidvalidity;
  return folder;
}

std::vector<FolderInfo> MboxAccount::folders(const ProblemFn& problem) {
  std::vector<FolderInfo> out;
  const std::string& location = info_.location;
  const bool directory = maildir::is_directory(location);
  std::string inbox = inbox_;
  if (!directory) {
    inbox = location;  // a spool file alone: the account has only an INBOX
  } else if (inbox.empty()) {
    for (const char* candidate : {"inbox", "INBOX", "Inbox"}) {
      if (maildir::is_regular_file(fs::join(location, candidate))) {
        inbox = fs::join(location, candidate);
        break;
      }
    }
  }
  if (!inbox.empty() && maildir::is_regular_file(inbox)) {
    if (auto folder = file_folder(inbox, "INBOX", problem)) out.push_back(std::move(*folder));
  }
  if (directory) walk(location, "", 0, out, problem);
  return out;
}

void MboxAccount::walk(const std::string& dir, const std::string& parent, int depth,
                       std::vector<FolderInfo>& out, const ProblemFn& problem) const {
  std::vector<fs::Entry> entries;
  try {
    entries = fs::list_directory(dir);
  } catch (const IoError& e) {
    problem(Problem{.scope = Scope::Folder, .folder = parent, .file = dir, .message = e.what()});
    return;
  }
  std::vector<std::pair<std::string, std::string>> subdirs;
  for (const fs::Entry& entry : entries) {
    // Dotfiles: .imap/ (Dovecot's index), .subscriptions, .mailboxlist (Pine); locks are transient.
    if (entry.name.starts_with('.') || entry.name.ends_with(".lock")) continue;
    const std::string path = fs::join(dir, entry.name);
    std::string part = entry.name;
    if (auto decoded = mutf7_decode(entry.name)) {
      part = *decoded;
    } else {
      problem(Problem{.scope = Scope::Folder,
                      .folder = parent.empty() ? part : std::string(parent).append("/").append(part),
                      .file = path,
                      .message = "file name is not valid modified UTF-7; folder listed under its raw name"});
    }
    std::string name = parent;
    if (!name.empty()) name += '/';
    name += part;
    if (parent.empty() && ascii_lower(name) == "inbox") {
      if (path == inbox_ || inbox_.empty()) continue;  // already listed as INBOX
      problem(Problem{.scope = Scope::Folder,
                      .folder = name,
                      .file = path,
                      .message = "an \"inbox\" file besides the INBOX given with --inbox-path: not read"});
      continue;
    }
    if (entry.type == fs::Type::Symlink) {
      problem(Problem{
          .scope = Scope::Folder, .folder = name, .file = path, .message = "symbolic link: not followed"});
      continue;
    }
    if (entry.type == fs::Type::Directory) {
      if (depth >= kMaxDepth) {
        problem(Problem{.scope = Scope::Folder,
                        .folder = name,
                        .file = path,
                        .message = "folders nested too deep; not read"});
        continue;
      }
      out.push_back(FolderInfo{.name = name,
                               .selectable = false,
                               .subscribed = subscribed_.contains(name),
                               .location = path,
                               .format = "dir"});
      subdirs.emplace_back(name, path);
      continue;
    }
    if (entry.type != fs::Type::File) continue;
    if (auto folder = file_folder(path, name, problem)) out.push_back(std::move(*folder));
  }
  for (const auto& [name, path] : subdirs) walk(path, name, depth + 1, out, problem);
}

std::unique_ptr<Folder> MboxAccount::open_folder(const FolderInfo& folder) const {
  if (!folder.selectable) return std::make_unique<NoSelectFolder>();
  return std::make_unique<MboxFolder>(folder.location, format_);
}

}  // namespace mailmig::mbox
