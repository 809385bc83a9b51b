#include "source/maildir/maildir_folder.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <span>
#include <vector>

#include "core/crlf.h"
#include "core/error.h"
#include "core/fs.h"
#include "format/maildir/file_name.h"
#include "source/maildir/maildir_meta.h"

namespace mailmig::maildir {
namespace {

struct Candidate {
  std::string id;  // "cur/<name>" or "new/<name>"
  std::string name;
  std::optional<std::uint32_t> uid;
};

void list_messages(FileTree& tree, const std::string& folder, const char* sub, std::vector<Candidate>& out,
                   const ProblemFn& problem) {
  const std::string dir = fs::join(folder, sub);
  std::vector<TreeEntry> entries;
  try {
    entries = tree.list(dir);
  } catch (const IoError& e) {
    // A folder without new/ (some tools never create it) is still readable.
    if (e.error_number() != ENOENT)
      problem(Problem{.scope = Scope::Folder, .file = dir, .message = e.what()});
    return;
  }
  for (const TreeEntry& entry : entries) {
    if (entry.name.starts_with('.')) continue;  // editors' and tools' hidden files are no mail
    if (entry.type != fs::Type::File) {
      problem(Problem{.scope = Scope::Message,
                      .file = fs::join(dir, entry.name),
                      .message = entry.type == fs::Type::Symlink
                                     ? "symbolic link in a Maildir: not followed"
                                     : "not a regular file in a Maildir: ignored"});
      continue;
    }
    out.push_back(Candidate{fmt::format("{}/{}", sub, entry.name), entry.name, std::nullopt});
  }
}

struct Measured {
  std::uint64_t stored = 0;
  std::uint64_t rfc822 = 0;
  std::int64_t mtime = 0;
};

Measured measure(FileTree& tree, const std::string& path, std::span<char> buffer) {
  OpenedStream file = tree.open(path);
  CrlfCounter counter;
  std::uint64_t total = 0;
  while (const std::size_t n = file.reader->read(buffer)) {
    counter.feed(std::string_view(buffer.data(), n));
    total += n;
  }
  return Measured{total, counter.size(), file.mtime};
}

bool valid_id(const std::string& id) {
  if (!id.starts_with("cur/") && !id.starts_with("new/")) return false;
  const std::string_view name = std::string_view(id).substr(4);
  return !name.empty() && !name.starts_with('.') && name.find('/') == std::string_view::npos;
}

}  // namespace

MaildirFolder::MaildirFolder(std::string path, std::shared_ptr<FileTree> tree)
    : path_(std::move(path)), tree_(std::move(tree)) {}

void MaildirFolder::scan(const std::function<void(const MessageInfo&)>& on_message,
                         const ProblemFn& problem) {
  const FolderMeta meta = read_folder_meta(*tree_, path_, problem);
  std::vector<Candidate> candidates;
  list_messages(*tree_, path_, "cur", candidates, problem);
  list_messages(*tree_, path_, "new", candidates, problem);
  for (Candidate& c : candidates) {
    if (auto it = meta.uids.find(parse_file_name(c.name).base); it != meta.uids.end()) c.uid = it->second;
  }
  // Dovecot's order is UID order; files the uidlist does not know yet would get
  // the next UIDs in name order, and Maildir names start with the delivery time.
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    const std::uint64_t ua = a.uid ? *a.uid : std::uint64_t{1} << 32U;
    const std::uint64_t ub = b.uid ? *b.uid : std::uint64_t{1} << 32U;
    return ua != ub ? ua < ub : a.name < b.name;
  });
  constexpr std::size_t kBuffer = std::size_t{256} << 10U;
  const auto buffer = std::make_unique_for_overwrite<char[]>(kBuffer);
  for (const Candidate& c : candidates) {
    const std::string file = fs::join(path_, c.id);
    Measured measured;
    try {
      measured = measure(*tree_, file, std::span<char>(buffer.get(), kBuffer));
    } catch (const IoError& e) {
      // Mail clients delete and move (flag changes rename) messages while we read.
      problem(Problem{
          .scope = Scope::Message,
          .file = file,
          .message = e.error_number() == ENOENT
                         ? "vanished since the folder was listed (deleted or moved by a mail client): skipped"
                         : std::string(e.what())});
      continue;
    }
    if (measured.stored == 0) {
      problem(Problem{
          .scope = Scope::Message, .file = file, .message = "empty message file (0 bytes): not delivered"});
      continue;
    }
    const FileName parsed = parse_file_name(c.name);
    if (parsed.file_size && *parsed.file_size != measured.stored) {
      spdlog::warn("{}: name says S={} but the file has {} bytes; the measured size is used", file,
                   *parsed.file_size, measured.stored);
    }
    if (parsed.rfc822_size && *parsed.rfc822_size != measured.rfc822) {
      spdlog::warn("{}: name says W={} but the message has {} bytes with CRLF; the measured size is used",
                   file, *parsed.rfc822_size, measured.rfc822);
    }
    MessageInfo info{.id = c.id,
                     .file = file,
                     .size = measured.rfc822,
                     .stored_size = measured.stored,
                     .flags = parsed.flags,
                     .internal_date = DateTime{measured.mtime, 0},
                     .uid = c.uid,
                     .data_length = measured.stored};
    info.keywords = meta.keywords.names_of(parsed.keyword_letters, [&](char letter) {
      problem(Problem{.scope = Scope::Message, .file = file, .message = unknown_keyword_letter(letter)});
    });
    on_message(info);
  }
}

std::unique_ptr<ByteReader> MaildirFolder::open(const MessageInfo& message) const {
  // The id comes from scan(); never let it reach outside the folder.
  if (!valid_id(message.id))
    throw IoError(fs::join(path_, message.id), EINVAL, "not a message of this folder");
  const std::string file = fs::join(path_, message.id);
  try {
    return tree_->open(file, message.data_length).reader;
  } catch (const IoError& e) {
    if (e.error_number() != ENOENT) throw;
    throw IoError(file, ENOENT, "vanished since the folder was listed (deleted or moved by a mail client)");
  }
}

}  // namespace mailmig::maildir
