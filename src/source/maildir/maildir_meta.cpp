#include "source/maildir/maildir_meta.h"

#include <fcntl.h>
#include <fmt/format.h>

#include "core/error.h"
#include "core/fs.h"
#include "format/maildir/uidlist.h"
#include "source/maildir/user_paths.h"
#include "source/tree/file_tree.h"

namespace mailmig::maildir {
namespace {

// Metadata files are small; a bigger one is not what we think it is.
constexpr std::uint64_t kMaxMetaFile = std::uint64_t{256} << 20U;

std::optional<std::string> read_small_file(FileTree& tree, const std::string& path,
                                           const ProblemFn& problem) {
  try {
    return tree.read_small(path, kMaxMetaFile);
  } catch (const IoError& e) {
    if (e.error_number() != ENOENT && problem)
      problem(Problem{.scope = Scope::Folder, .file = path, .message = e.what()});
    return std::nullopt;
  }
}

}  // namespace

std::optional<std::string> uidlist_problem(const UidlistRead& read) {
  if (!read.list)
    return fmt::format("not understood ({}): UIDs are not kept for this folder", read.header_error);
  if (read.broken.empty()) return std::nullopt;
  // The first few lines are enough to find the damage; a file of garbage
  // must not make a report line of megabytes.
  constexpr std::size_t kListed = 5;
  std::string lines;
  for (std::size_t i = 0; i < read.broken.size() && i < kListed; ++i)
    lines += fmt::format("{}{} ({})", i == 0 ? "" : ", ", read.broken[i].line, read.broken[i].what);
  if (read.broken.size() > kListed) lines += ", ...";
  return fmt::format("{} malformed line(s) skipped, those messages get new UIDs: line {}", read.broken.size(),
                     lines);
}

std::string unknown_keyword_letter(char letter) {
  return fmt::format("keyword letter '{}' is not in dovecot-keywords: dropped", letter);
}

FolderMeta read_folder_meta(FileTree& tree, const std::string& folder, const ProblemFn& problem) {
  FolderMeta meta;
  const std::string uidlist_path = fs::join(folder, "dovecot-uidlist");
  if (auto text = read_small_file(tree, uidlist_path, problem)) {
    const UidlistRead read = parse_uidlist(*text);
    if (read.list) {
      meta.uidvalidity = read.list->uidvalidity;
      meta.uids = uids_by_base(*read.list);
    }
    if (auto message = uidlist_problem(read)) {
      problem(Problem{.scope = Scope::Folder, .file = uidlist_path, .message = *message});
    }
  }
  if (auto text = read_small_file(tree, fs::join(folder, "dovecot-keywords"), problem))
    meta.keywords = Keywords::parse(*text);
  const std::string courier = fs::join(folder, "courierimapkeywords");
  if (is_directory(tree, courier)) {
    problem(
        Problem{.scope = Scope::Folder,
                .file = courier,
                .message = "Courier IMAP keywords are not read: messages are copied without their keywords"});
  }
  return meta;
}

std::optional<std::uint32_t> read_uidvalidity(FileTree& tree, const std::string& folder) {
  auto text = read_small_file(tree, fs::join(folder, "dovecot-uidlist"), nullptr);
  if (!text) return std::nullopt;
  // Only the header line is needed.
  const std::string_view header = std::string_view(*text).substr(0, text->find('\n'));
  const UidlistRead read = parse_uidlist(header);
  return read.list ? std::optional<std::uint32_t>(read.list->uidvalidity) : std::nullopt;
}

}  // namespace mailmig::maildir
