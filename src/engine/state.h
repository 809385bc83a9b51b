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
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace SQLite {
class Database;
}

namespace mailmig {

struct MessageKey {
  std::string sha256;
  std::uint32_t ordinal = 0;
  friend auto operator<=>(const MessageKey&, const MessageKey&) = default;
};

struct FolderMark {
  std::optional<std::uint32_t> uidvalidity;  // of the target folder when last used
  std::optional<std::uint32_t> uidnext;      // target UIDNEXT before the first pending batch
};

class State {
 public:
  // Opens or creates `path` (its directory must exist). Throws std::runtime_error.
  explicit State(const std::string& path);
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State();

  [[nodiscard]] const std::string& path() const { return path_; }

  // Account status: "running", "done", "failed", "skipped"; nullopt if never seen.
  void set_account(const std::string& account, const std::string& status, const std::string& note = "");
  [[nodiscard]] std::optional<std::string> account_status(const std::string& account);

  [[nodiscard]] FolderMark folder_mark(const std::string& account, const std::string& folder);
  void set_folder_mark(const std::string& account, const std::string& folder, const std::string& target_folder,
                       const FolderMark& mark);
  // Forgets everything about a folder (its target was recreated: UIDVALIDITY changed).
  void forget_folder(const std::string& account, const std::string& folder);

  // How many messages with each hash are done in the folder.
  [[nodiscard]] std::map<std::string, std::uint32_t> done_counts(const std::string& account, const std::string& folder);
  [[nodiscard]] std::vector<MessageKey> pending(const std::string& account, const std::string& folder);

  // Durable before returning: the write-ahead record of a batch about to be sent.
  void mark_pending(const std::string& account, const std::string& folder, const std::vector<MessageKey>& keys,
                    const std::vector<std::uint64_t>& sizes);
  // Buffered; committed by flush() (and every few hundred calls).
  void mark_done(const std::string& account, const std::string& folder, const MessageKey& key,
                 std::optional<std::uint32_t> uid);
  // A pending message the target refused or that a crash lost: not on the target.
  void drop(const std::string& account, const std::string& folder, const MessageKey& key);
  void drop_pending(const std::string& account, const std::string& folder);
  void flush();

  // Totals for reports: done messages and bytes per account.
  struct Totals {
    std::uint64_t messages = 0;
    std::uint64_t bytes = 0;
  };
  [[nodiscard]] Totals totals(const std::string& account);

 private:
  void begin_batch_locked();
  void commit_locked();

  std::string path_;
  std::unique_ptr<SQLite::Database> db_;
  std::mutex mutex_;
  bool in_batch_ = false;
  unsigned batched_ = 0;
};

}  // namespace mailmig
