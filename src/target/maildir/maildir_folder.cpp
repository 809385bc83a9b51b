#include "target/maildir/maildir_folder.h"

#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <set>
#include <span>

#include "core/crlf.h"
#include "core/error.h"
#include "core/fs.h"
#include "format/maildir/file_name.h"
#include "imap/appender.h"
#include "target/maildir/keywords_file.h"
#include "target/maildir/unique_stem.h"

namespace mailmig::maildir {

namespace {

using Fsync = MaildirTargetOptions::Fsync;

// A batch is committed (renamed into cur/, numbered in the uidlist) every
// this many messages or bytes: the uidlist is rewritten whole each time, so
// batches keep that linear, and bound what a crash leaves for reconciliation.
constexpr std::size_t kBatchMessages = 256;
constexpr std::uint64_t kBatchBytes = std::uint64_t{32} * 1024 * 1024;

// Counts the RFC822.SIZE (what Dovecot serves: bare LF as CRLF) of the bytes passing through.
class CountingReader final : public ByteReader {
 public:
  explicit CountingReader(std::unique_ptr<ByteReader> inner) : inner_(std::move(inner)) {}
  std::size_t read(std::span<char> buffer) override {
    const std::size_t n = inner_->read(buffer);
    counter_.feed(std::string_view(buffer.data(), n));
    return n;
  }
  [[nodiscard]] std::uint64_t rfc822_size() const { return counter_.size(); }

 private:
  std::unique_ptr<ByteReader> inner_;
  CrlfCounter counter_;
};

std::string hash_served(const std::string& path) {
  return read_served(path).sha256;
}

// The keyword a message carries here: what an IMAP APPEND to Dovecot would
// store (imap::sanitize_keyword), so both targets hold the same keywords and
// dovecot-keywords only ever holds IMAP atoms (the codec refuses the rest).
std::optional<std::string> stored_keyword(const std::string& keyword) {
  return imap::sanitize_keyword(keyword);
}

}  // namespace

namespace {

// Files a killed writer of this host left in tmp/ (see tmp_writer_pid): they
// never reach cur/, so they are only litter. A live writer's files are kept.
void remove_orphans(const std::string& tmp) {
  std::size_t removed = 0;
  for (const fs::Entry& e : fs::list_directory(tmp)) {
    if (e.type != fs::Type::File) continue;
    const std::optional<long> pid = tmp_writer_pid(e.name, local_host_in_names());
    if (!pid || *pid == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(*pid), 0) == 0 || errno != ESRCH) continue;
    if (::unlink(fs::join(tmp, e.name).c_str()) == 0) ++removed;
  }
  if (removed != 0) spdlog::info("{}: removed {} file(s) a killed run left in tmp/", tmp, removed);
}

}  // namespace

MaildirTargetFolder::MaildirTargetFolder(Mailbox box, FolderName name, TargetAccount::ResultFn on_result)
    : box_(std::move(box)), name_(std::move(name)), on_result_(std::move(on_result)) {
  try {
    remove_orphans(box_.path("tmp"));
  } catch (const IoError& e) {
    spdlog::warn("{}", e.what());  // litter only: the folder works without this
  }
  const Snapshot snap = box_.sync();
  existing_ = snap.message_count();
  uidvalidity_ = snap.list.uidvalidity;
  uidnext_ = snap.list.nextuid;
}

std::string MaildirTargetFolder::rename_note() const {
  if (!name_.altered) return {};
  return fmt::format(
      "stored as \"{}\": a name component held '.', the Maildir++ hierarchy separator (or was empty)",
      name_.neutral);
}

bool MaildirTargetFolder::keep_uids(std::uint32_t source_uidvalidity) {
  if (next_index_ != 0 || source_uidvalidity == 0) return false;
  box_.locked([&](Snapshot& snap) {
    if (snap.list.records.empty()) {
      // Nothing numbered yet: the folder can take the source's numbering. A
      // new UIDVALIDITY may start again at 1; the same one must not go back.
      if (snap.list.uidvalidity != source_uidvalidity) {
        snap.list.uidvalidity = source_uidvalidity;
        snap.list.nextuid = 1;
      }
      keep_uids_ = true;
    } else {
      keep_uids_ = snap.list.uidvalidity == source_uidvalidity;
    }
    uidvalidity_ = snap.list.uidvalidity;
    uidnext_ = snap.list.nextuid;
  });
  return keep_uids_;
}

void MaildirTargetFolder::add(const MessageInfo& message, OpenMessage open) {
  queue_.push_back(Pending{.index = next_index_++,
                           .flags = message.flags,
                           .keywords = message.keywords,
                           .date = message.internal_date,
                           .source_uid = message.uid,
                           .open = std::move(open)});
  queued_bytes_ += message.size;
  if (queue_.size() >= kBatchMessages || queued_bytes_ >= kBatchBytes) flush();
}

void MaildirTargetFolder::flush() {
  if (queue_.empty()) return;
  std::vector<std::size_t> indices;
  indices.reserve(queue_.size());
  for (const Pending& p : queue_) indices.push_back(p.index);
  // Write-ahead: the engine records the batch as pending before any of it can
  // appear in cur/.
  if (before_send_) before_send_(indices);
  unresolved_ = indices;
  std::vector<Delivery> results(queue_.size());
  try {
    const std::vector<Written> written = write_batch(results);
    commit_batch(written, results);  // throws: the batch stays unresolved
  } catch (const IoError& e) {
    throw scoped_write_error(e);  // the disk, not a connection: retrying the same write cannot help
  }
  snapshot_.reset();
  std::vector<Pending> done = std::move(queue_);
  queue_.clear();
  queued_bytes_ = 0;
  unresolved_.clear();
  for (std::size_t i = 0; i < done.size(); ++i) on_result_(done[i].index, results[i]);
}

std::vector<MaildirTargetFolder::Written> MaildirTargetFolder::write_batch(std::vector<Delivery>& results) {
  const Settings& settings = box_.settings();
  std::vector<Written> written;
  for (std::size_t i = 0; i < queue_.size(); ++i) {
    const Pending& p = queue_[i];
    const std::string stem = unique_stem();
    try {
      CountingReader reader(p.open());
      const std::uint64_t size = write_new_file(box_.path("tmp/" + stem), reader, p.date,
                                                settings.fsync == Fsync::Always, settings.owner);
      written.push_back(Written{.pending = &p, .stem = stem, .size = size, .vsize = reader.rfc822_size()});
    } catch (const std::exception& e) {
      results[i] = Delivery{.ok = false, .error = e.what()};
    }
  }
  // One syncfs for the whole batch instead of an fsync per file: the files are
  // durable before their names appear in cur/ and in the uidlist.
  if (settings.fsync == Fsync::Batch && !written.empty()) syncfs_path(box_.path("tmp"));
  return written;
}

void MaildirTargetFolder::commit_batch(const std::vector<Written>& written, std::vector<Delivery>& results) {
  if (written.empty()) return;
  const Settings& settings = box_.settings();
  std::size_t renamed = 0;
  try {
    box_.locked([&](Snapshot& snap) {
      // Keyword letters first: dovecot-keywords must name a letter before a
      // file name uses it (locked() saves it before the uidlist, and we
      // rename only after that save -- see below).
      std::vector<std::string> names;
      std::vector<std::string> dropped_of(written.size());
      for (std::size_t w = 0; w < written.size(); ++w) {
        const Pending& p = *written[w].pending;
        std::string letters;
        std::string dropped;
        for (const std::string& k : p.keywords) {
          const std::optional<std::string> stored = stored_keyword(k);
          if (auto l = stored ? snap.keywords.assign(*stored) : std::nullopt)
            letters += *l;
          else
            dropped += (dropped.empty() ? "" : ", ") + k;
        }
        dropped_of[w] = dropped;
        names.push_back(file_name(base_with_sizes(written[w].stem, written[w].size, written[w].vsize),
                                  info_letters(p.flags, letters)));
      }
      save_keywords(snap.keywords, box_.dir(), settings.syncing(), settings.owner);
      for (std::size_t w = 0; w < written.size(); ++w) {
        const Pending& p = *written[w].pending;
        const std::size_t slot = static_cast<std::size_t>(&p - queue_.data());
        const std::string from = box_.path("tmp/" + written[w].stem);
        if (::rename(from.c_str(), box_.path("cur/" + names[w]).c_str()) != 0) {
          results[slot] =
              Delivery{.ok = false, .error = IoError(from, errno, "cannot move into cur/").what()};
          ::unlink(from.c_str());
          continue;
        }
        ++renamed;
        const std::uint32_t uid = choose_uid(snap.list, p);
        snap.list.records.push_back(
            UidRecord{.uid = uid, .extensions = {}, .base = parse_file_name(names[w]).base});
        snap.list.nextuid = uid + 1;
        results[slot] = Delivery{.ok = true, .uidvalidity = snap.list.uidvalidity, .uid = uid};
        if (!dropped_of[w].empty()) {
          // Delivered; the note travels in the otherwise unused error/code.
          results[slot].code = "KEYWORDS-DROPPED";
          results[slot].error =
              fmt::format("keywords not stored (a Maildir folder holds at most {}, each an IMAP atom): {}",
                          Keywords::kMax, dropped_of[w]);
          spdlog::warn("{}: {}", name_.neutral, results[slot].error);
        }
      }
      // The renames must be durable before the uidlist that names them is.
      if (renamed != 0 && settings.syncing()) fsync_path(box_.path("cur"));
    });
  } catch (...) {
    // Files not yet moved are dropped; moved ones are found and numbered by the next sync.
    for (const Written& w : written) ::unlink(box_.path("tmp/" + w.stem).c_str());
    throw;
  }
}

std::uint32_t MaildirTargetFolder::choose_uid(Uidlist& list, const Pending& p) {
  if (keep_uids_ && p.source_uid && *p.source_uid >= list.nextuid && *p.source_uid < UINT32_MAX) {
    return *p.source_uid;
  }
  if (keep_uids_) {
    // A message without a source UID, or one not above what the folder already
    // holds (source out of order, or someone else delivered): a fresh UID.
    if (uids_not_kept_++ == 0) {
      spdlog::warn("{}: source UID {} cannot be kept (next free UID {}); such messages get new UIDs",
                   name_.neutral, p.source_uid ? fmt::format("{}", *p.source_uid) : std::string("(none)"),
                   list.nextuid);
    }
  }
  return list.nextuid;
}

std::vector<std::pair<std::uint32_t, std::string>> MaildirTargetFolder::hashes_from(std::uint32_t first_uid) {
  const Snapshot snap = box_.sync();
  std::vector<std::pair<std::uint32_t, std::string>> out;
  for (const UidRecord& r : snap.list.records) {
    if (r.uid < first_uid) continue;
    std::optional<std::string> rel = snap.file_of(r.uid);
    if (!rel) continue;
    try {
      out.emplace_back(r.uid, hash_served(box_.path(*rel)));
    } catch (const IoError& e) {
      // Renamed by a flag change since the scan: look again once.
      if (e.error_number() != ENOENT) throw;
      if (auto again = box_.find_file(r.base)) out.emplace_back(r.uid, hash_served(box_.path(*again)));
    }
  }
  return out;
}

Snapshot& MaildirTargetFolder::snapshot() {
  if (!snapshot_) snapshot_ = box_.sync();
  return *snapshot_;
}

void MaildirTargetFolder::change_flags(std::uint32_t uid, Flags add, Flags remove,
                                       const std::vector<std::string>& add_keywords,
                                       const std::vector<std::string>& remove_keywords) {
  Snapshot& snap = snapshot();
  std::optional<std::string> rel = snap.file_of(uid);
  if (!rel) return;  // expunged meanwhile: like UID STORE, nothing to change
  std::vector<std::string> adding;
  for (const std::string& k : add_keywords) {
    if (auto stored = stored_keyword(k)) adding.push_back(std::move(*stored));
  }
  std::vector<std::string> removing;
  for (const std::string& k : remove_keywords) {
    if (auto stored = stored_keyword(k)) removing.push_back(std::move(*stored));
  }
  bool need_new_letters = false;
  for (const std::string& k : adding) need_new_letters = need_new_letters || !snap.keywords.letter(k);
  if (need_new_letters) {
    // New letters only under the uidlist lock, and saved before a name uses them.
    Keywords keywords;
    box_.locked([&](Snapshot& locked) {
      for (const std::string& k : adding) {
        if (!locked.keywords.assign(k))
          spdlog::warn("{}: keyword {} not stored: no letter left", name_.neutral, k);
      }
      keywords = locked.keywords;
    });
    snap.keywords = keywords;
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    const std::string old_name = rel->substr(4);
    const FileName parsed = parse_file_name(old_name);
    std::string keyword_letters;
    for (const char c : parsed.letters) {
      if (c >= 'a' && c <= 'z') keyword_letters += c;
    }
    for (const std::string& k : removing) {
      if (auto l = snap.keywords.letter(k)) std::erase(keyword_letters, *l);
    }
    for (const std::string& k : adding) {
      if (auto l = snap.keywords.letter(k)) keyword_letters += *l;
    }
    const Flags flags = static_cast<Flags>((parsed.flags | add) & ~remove);
    const std::string new_rel =
        "cur/" + file_name(parsed.base, info_letters(flags, keyword_letters, other_letters(parsed.letters)));
    if (new_rel == *rel) return;
    if (::rename(box_.path(*rel).c_str(), box_.path(new_rel).c_str()) == 0) {
      snap.files[parsed.base] = new_rel;
      return;
    }
    if (errno != ENOENT || attempt == 1)
      throw IoError(box_.path(*rel), errno, "cannot rename for a flag change");
    rel = box_.find_file(parsed.base);  // Dovecot moved it meanwhile
    if (!rel) return;
  }
}

void MaildirTargetFolder::remove(const std::vector<std::uint32_t>& uids) {
  if (uids.empty()) return;
  snapshot_ = box_.sync();
  for (const std::uint32_t uid : uids) {
    std::optional<std::string> rel = snapshot_->file_of(uid);
    if (!rel) continue;
    if (::unlink(box_.path(*rel).c_str()) == 0) continue;
    if (errno != ENOENT) throw IoError(box_.path(*rel), errno, "cannot remove");
    const std::string base = parse_file_name(rel->substr(4)).base;
    if (auto again = box_.find_file(base);
        again && ::unlink(box_.path(*again).c_str()) != 0 && errno != ENOENT) {
      throw IoError(box_.path(*again), errno, "cannot remove");
    }
  }
  if (box_.settings().syncing()) fsync_path(box_.path("cur"));
  const std::set<std::uint32_t> gone(uids.begin(), uids.end());
  box_.locked([&](Snapshot& snap) {
    std::erase_if(snap.list.records, [&](const UidRecord& r) { return gone.contains(r.uid); });
  });
  snapshot_.reset();
}

}  // namespace mailmig::maildir
