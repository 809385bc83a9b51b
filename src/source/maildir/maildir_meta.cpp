#include "source/maildir/maildir_meta.h"

#include <fcntl.h>
#include <fmt/format.h>

#include "core/error.h"
#include "core/fs.h"
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

FolderMeta read_folder_meta(FileTree& tree, const std::string& folder, const ProblemFn& problem) {
  FolderMeta meta;
  const std::string uidlist_path = fs::join(folder, "dovecot-uidlist");
  if (auto text = read_small_file(tree, uidlist_path, problem)) {
    std::string error;
    std::size_t bad = 0;
    if (auto list = parse_uidlist(*text, error, bad)) {
      meta.uidvalidity = list->uidvalidity;
      meta.uids = std::move(list->uids);
      if (bad > 0) {
        problem(Problem{
            .scope = Scope::Folder,
            .file = uidlist_path,
            .message = fmt::format("{} malformed line(s) skipped; those messages get new UIDs", bad)});
      }
    } else {
      problem(
          Problem{.scope = Scope::Folder,
                  .file = uidlist_path,
                  .message = fmt::format("not understood ({}): UIDs are not kept for this folder", error)});
    }
  }
  if (auto text = read_small_file(tree, fs::join(folder, "dovecot-keywords"), problem))
    meta.keywords = parse_keywords(*text);
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
  std::string error;
  std::size_t bad = 0;
  auto list = parse_uidlist(header, error, bad);
  return list ? list->uidvalidity : std::nullopt;
}

}  // namespace mailmig::maildir
