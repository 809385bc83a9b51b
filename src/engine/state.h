// The run state (SQLite, WAL): which source messages are on the target, so a
// re-run, a resume after kill -9, or a stage-2 sync copies only what is
// missing and never duplicates.
//
// Message identity: (account, source folder, SHA-256 of the message as the
// target receives it, ordinal among identical messages of that folder). It
// survives re-reading an unchanged source and also a source whose files were
// rewritten (offsets changed), because it depends only on content.
//
// Write-ahead: a batch's identities are committed as "pending" before the
// APPEND that carries it is sent; an acknowledged message becomes "done" with
// its target UID. Pending rows left by a crash are reconciled against the
// target (messages above the UIDNEXT noted before the batch, hashed) on the
// next run: found ones become done, the rest are copied again.
//
// Stage-2 sync: each row also holds the source flags it was copied (or last
// synced) with, so flag changes on the source become deltas on the target,
// and done rows whose message the source no longer has are deletions.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/message.h"

namespace SQLite {
class Database;
class Statement;
}  // namespace SQLite

namespace mailmig {

struct MessageKey {
  std::string sha256;
  std::uint32_t ordinal = 0;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy misreads the defaulted comparison
  friend auto operator<=>(const MessageKey&, const MessageKey&) = default;
};

// The source flags and keywords a message had when it was copied or last
// synced: a stage-2 sync applies only the difference to the target, so a flag
// the user changed on the target meanwhile survives unless the source changed
// the same flag.
struct MessageFlags {
  Flags flags = 0;
  std::vector<std::string> keywords;  // sorted, without duplicates (see of())

  static MessageFlags of(const MessageInfo& message);
  friend bool operator==(const MessageFlags&, const MessageFlags&) = default;
};

// A message about to be sent: its write-ahead record.
struct PendingMessage {
  MessageKey key;
  std::uint64_t size = 0;
  MessageFlags flags;
  std::optional<std::uint32_t> source_uid;  // when the source keeps UIDs (IMAP, Maildir with dovecot-uidlist)
};

// A message the state says is on the target.
struct DoneMessage {
  MessageKey key;
  std::uint64_t size = 0;                   // RFC822.SIZE when it was copied
  std::optional<std::uint32_t> uid;         // unknown when the server did not say (no UIDPLUS)
  std::optional<MessageFlags> flags;        // unknown for rows written before schema 2
  std::optional<std::uint32_t> source_uid;  // the source's UID, under FolderMark::source_uidvalidity
  // Recorded while another source was read (the same mail from a backup, then
  // from the live host): never taken as deleted by this source's scan.
  bool other_source = false;
};

// What the state knows about a source folder that was (being) copied.
struct FolderRecord {
  std::string folder;          // source name
  std::string target_display;  // the target's name for messages
  std::string target;          // the neutral name given to the target; empty for rows before schema 2
};

struct FolderMark {
  std::optional<std::uint32_t> uidvalidity;  // of the target folder when last used
  std::optional<std::uint32_t> uidnext;      // target UIDNEXT before the first pending batch
  // The source folder's UIDVALIDITY the recorded source UIDs belong to: while
  // it is unchanged, a message whose UID the state knows needs no re-reading
  // (an IMAP source would otherwise download every message on every sync).
  std::optional<std::uint32_t> source_uidvalidity;
};

class State {
 public:
  // Opens or creates `path` (its directory must exist). Throws std::runtime_error.
  explicit State(const std::string& path);
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State();

  [[nodiscard]] const std::string& path() const { return path_; }

  // The source this run reads (its description): rows written from now on
  // carry it. One state serves every source of the same target (a backup
  // import, then the live host), so each row remembers which source it saw.
  // `record` false (a dry run): only looked up, nothing written; a source
  // the state has never seen then matches no row, as it would once recorded.
  void set_source(const std::string& name, bool record = true);

  // Account status: "running", "done", "failed", "skipped"; nullopt if never seen.
  void set_account(const std::string& account, const std::string& status, const std::string& note = "");
  [[nodiscard]] std::optional<std::string> account_status(const std::string& account);

  [[nodiscard]] FolderMark folder_mark(const std::string& account, const std::string& folder);
  // `target_display`: the target's name for reports; `target`: the neutral
  // name the folder was opened with (kept so later runs never rename it).
  void set_folder_mark(const std::string& account, const std::string& folder,
                       const std::string& target_display, const std::string& target, const FolderMark& mark);
  // Every folder of the account the state knows, by source name.
  [[nodiscard]] std::vector<FolderRecord> folders(const std::string& account);
  // Forgets everything about a folder (its target was recreated: UIDVALIDITY changed).
  void forget_folder(const std::string& account, const std::string& folder);

  [[nodiscard]] std::vector<DoneMessage> done_messages(const std::string& account, const std::string& folder);
  [[nodiscard]] std::vector<MessageKey> pending(const std::string& account, const std::string& folder);

  // Durable before returning: the write-ahead record of a batch about to be sent.
  void mark_pending(const std::string& account, const std::string& folder,
                    const std::vector<PendingMessage>& messages);
  // Buffered; committed by flush() (and every few hundred calls).
  void mark_done(const std::string& account, const std::string& folder, const MessageKey& key,
                 std::optional<std::uint32_t> uid);
  // A pending message the target refused or that a crash lost: not on the target.
  void drop(const std::string& account, const std::string& folder, const MessageKey& key);
  void drop_pending(const std::string& account, const std::string& folder);
  // Buffered: the source flags now on the target (after a sync applied them).
  void set_flags(const std::string& account, const std::string& folder, const MessageKey& key,
                 const MessageFlags& flags);
  // Buffered: this run's source has the done message `key`, under `source_uid`
  // (recorded after its UIDVALIDITY changed, or first seen from this source).
  void set_source_uid(const std::string& account, const std::string& folder, const MessageKey& key,
                      std::optional<std::uint32_t> source_uid);
  // Buffered: a message the state did not know was found on the target by its
  // content (copied by another run, another state or another source): done,
  // with the flags the target holds, so a sync applies only the difference.
  void adopt(const std::string& account, const std::string& folder, const PendingMessage& message,
             std::uint32_t uid);
  // Durable: messages removed from the target because the source deleted them.
  void forget_messages(const std::string& account, const std::string& folder,
                       const std::vector<MessageKey>& keys);
  void flush();

  // Totals for reports: done messages and bytes per account.
  struct Totals {
    std::uint64_t messages = 0;
    std::uint64_t bytes = 0;
  };
  [[nodiscard]] Totals totals(const std::string& account);

 private:
  void begin_batch_locked();
  void bind_source(SQLite::Statement& q, int index) const;
  void commit_locked();

  std::string path_;
  std::unique_ptr<SQLite::Database> db_;
  std::mutex mutex_;
  bool in_batch_ = false;
  unsigned batched_ = 0;
  std::optional<std::int64_t> source_id_;  // rowid in `sources` of set_source()
};

}  // namespace mailmig
