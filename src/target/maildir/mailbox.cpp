#include "target/maildir/mailbox.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <stdexcept>
#include <vector>

#include "core/error.h"
#include "core/fs.h"
#include "format/maildir/file_name.h"
#include "target/maildir/dotlock.h"
#include "target/maildir/keywords_file.h"
#include "target/maildir/uidvalidity.h"

namespace mailmig::maildir {

namespace {

// Dovecot's MAILDIR_UIDLIST_LOCK_STALE_TIMEOUT, and its wait of that + 2 s.
constexpr std::chrono::seconds kUidlistStale{120};
constexpr std::chrono::seconds kUidlistTimeout{122};

// The target rewrites the uidlist: a line Dovecot calls broken (Dovecot would
// drop the whole file and renumber) stops the write, with its line number,
// instead of being dropped by our rewrite.
Uidlist read_for_rewrite(const std::string& text) {
  UidlistRead read = parse_uidlist(text);
  if (!read.list) throw std::runtime_error(fmt::format("dovecot-uidlist line 1: {}", read.header_error));
  if (!read.broken.empty()) {
    throw std::runtime_error(
        fmt::format("dovecot-uidlist line {}: {}", read.broken.front().line, read.broken.front().what));
  }
  return std::move(*read.list);
}

// The entries of cur/ or new/; none while it does not exist.
std::vector<fs::Entry> entries_of(const std::string& dir) {
  try {
    return fs::list_directory(dir);
  } catch (const IoError& e) {
    if (e.error_number() == ENOENT) return {};
    throw;
  }
}

}  // namespace

std::optional<std::string> Snapshot::file_of(std::uint32_t uid) const {
  const auto it = std::lower_bound(list.records.begin(), list.records.end(), uid,
                                   [](const UidRecord& r, std::uint32_t u) { return r.uid < u; });
  if (it == list.records.end() || it->uid != uid) return std::nullopt;
  const auto f = files.find(it->base);
  if (f == files.end()) return std::nullopt;
  return f->second;
}

std::uint64_t Snapshot::message_count() const {
  return static_cast<std::uint64_t>(std::count_if(
      list.records.begin(), list.records.end(), [&](const UidRecord& r) { return files.contains(r.base); }));
}

Mailbox::Mailbox(std::string dir, bool is_root, Settings settings)
    : dir_(std::move(dir)), is_root_(is_root), settings_(std::move(settings)) {}

std::string Mailbox::path(const std::string& relative) const {
  return fs::join(dir_, relative);
}

bool Mailbox::exists() const {
  struct stat st {};
  return ::stat(path("cur").c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void Mailbox::create() {
  bool created = ensure_dir(dir_, 0700, settings_.owner);
  for (const char* sub : {"cur", "new", "tmp"})
    created = ensure_dir(path(sub), 0700, settings_.owner) || created;
  if (!is_root_) {
    // The Maildir++ marker: tells deliverers (maildrop, Dovecot's LDA) this is a subfolder.
    const std::string marker = path("maildirfolder");
    const int fd = ::open(marker.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) {
      try {
        apply_owner(fd, marker, settings_.owner);
      } catch (...) {
        ::close(fd);
        throw;
      }
      ::close(fd);
      created = true;
    } else if (errno != EEXIST) {
      throw IoError(marker, errno, "cannot create");
    }
  }
  if (created && settings_.syncing()) {
    // New directory entries are durable only once their parents are synced.
    fsync_path(dir_);
    fsync_path(fs::join(dir_, ".."));
  }
}

std::map<std::string, std::string> Mailbox::scan() const {
  std::map<std::string, std::string> files;
  for (const char* sub : {"new", "cur"}) {  // cur/ last: a file moved from new/ meanwhile counts there
    for (const fs::Entry& e : entries_of(path(sub))) {
      // Dovecot ignores dot files and names with CR/LF (they would break its uidlist).
      if (e.name.empty() || e.name.front() == '.' || e.name.find_first_of("\r\n/") != std::string::npos)
        continue;
      if (e.type == fs::Type::Directory) continue;
      files[parse_file_name(e.name).base] = std::string(sub) + "/" + e.name;
    }
  }
  return files;
}

std::optional<std::string> Mailbox::find_file(const std::string& base) const {
  for (const char* sub : {"cur", "new"}) {
    for (const fs::Entry& e : entries_of(path(sub))) {
      if (parse_file_name(e.name).base == base) return std::string(sub) + "/" + e.name;
    }
  }
  return std::nullopt;
}

Snapshot Mailbox::locked(const std::function<void(Snapshot&)>& change) {
  const std::string uidlist_path = path("dovecot-uidlist");
  DotLock lock(uidlist_path, kUidlistStale, kUidlistTimeout, settings_.owner);
  Snapshot snap;
  const std::optional<std::string> text = read_small_file(uidlist_path);
  if (text) {
    snap.list = read_for_rewrite(*text);
  } else {
    snap.list.uidvalidity = next_uidvalidity(settings_.maildir_root, settings_.owner);
  }
  if (snap.list.guid.size() != 32) snap.list.guid = new_mailbox_guid();  // version 1 lists have none
  snap.keywords = load_keywords(dir_);
  snap.files = scan();

  // Records whose file is missing stay: a file being renamed by Dovecot while
  // we list the directory can be missed, and dropping its record would give
  // it a new UID. Dovecot drops records of expunged files itself.
  std::map<std::string, bool> listed;
  for (const UidRecord& r : snap.list.records) listed[r.base] = true;
  std::vector<std::string> unlisted;
  for (const auto& [base, rel] : snap.files) {
    if (!listed.contains(base)) unlisted.push_back(rel.substr(4));
  }
  std::sort(unlisted.begin(), unlisted.end(),
            [](const std::string& a, const std::string& b) { return dovecot_order(a, b); });
  for (const std::string& name : unlisted) {
    snap.list.records.push_back(
        UidRecord{.uid = snap.list.nextuid++, .extensions = {}, .base = parse_file_name(name).base});
  }

  change(snap);

  save_keywords(snap.keywords, dir_, settings_.syncing(), settings_.owner);
  const std::string formatted = format_uidlist(snap.list);
  if (!text || formatted != *text) {
    replace_file(uidlist_path + ".tmp", uidlist_path, formatted, settings_.syncing(), settings_.owner);
    if (settings_.syncing()) fsync_path(dir_);
  }
  lock.release();
  return snap;
}

}  // namespace mailmig::maildir
