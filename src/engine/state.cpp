#include "engine/state.h"

#include <SQLiteCpp/SQLiteCpp.h>

#include <fmt/format.h>

namespace mailmig {

namespace {

constexpr unsigned kDoneBatch = 500;  // done marks per transaction

constexpr const char* kSchema = R"SQL(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
  account TEXT PRIMARY KEY, status TEXT NOT NULL, note TEXT NOT NULL DEFAULT '',
  updated TEXT NOT NULL DEFAULT (datetime('now')));
CREATE TABLE IF NOT EXISTS folders (
  account TEXT NOT NULL, folder TEXT NOT NULL, target_folder TEXT NOT NULL,
  uidvalidity INTEGER, uidnext INTEGER, PRIMARY KEY (account, folder));
CREATE TABLE IF NOT EXISTS messages (
  account TEXT NOT NULL, folder TEXT NOT NULL, sha256 TEXT NOT NULL, ordinal INTEGER NOT NULL,
  size INTEGER NOT NULL, status TEXT NOT NULL CHECK (status IN ('pending', 'done')), uid INTEGER,
  PRIMARY KEY (account, folder, sha256, ordinal)) WITHOUT ROWID;
)SQL";

std::optional<std::uint32_t> opt_u32(const SQLite::Column& c) {
  if (c.isNull()) return std::nullopt;
  return static_cast<std::uint32_t>(c.getInt64());
}

}  // namespace

State::State(const std::string& path) : path_(path) {
  try {
    db_ = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_FULLMUTEX);
    // WAL: a committed transaction survives kill -9 without an fsync per commit;
    // synchronous=NORMAL trades only the last commits on a power loss.
    db_->exec("PRAGMA journal_mode=WAL");
    db_->exec("PRAGMA synchronous=NORMAL");
    db_->exec("PRAGMA busy_timeout=10000");
    db_->exec(kSchema);
    db_->exec("INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', '1')");
  } catch (const SQLite::Exception& e) {
    throw std::runtime_error(fmt::format("state database {}: {}", path, e.what()));
  }
}

State::~State() {
  try {
    flush();
  } catch (const std::exception&) {
    // Destructors must not throw; the next run reconciles what was not committed.
  }
}

void State::begin_batch_locked() {
  if (in_batch_) return;
  db_->exec("BEGIN");
  in_batch_ = true;
  batched_ = 0;
}

void State::commit_locked() {
  if (!in_batch_) return;
  db_->exec("COMMIT");
  in_batch_ = false;
  batched_ = 0;
}

void State::set_account(const std::string& account, const std::string& status, const std::string& note) {
  std::lock_guard lock(mutex_);
  commit_locked();
  SQLite::Statement q(*db_,
                      "INSERT INTO accounts(account, status, note) VALUES (?, ?, ?) "
                      "ON CONFLICT(account) DO UPDATE SET status=excluded.status, note=excluded.note, "
                      "updated=datetime('now')");
  q.bind(1, account);
  q.bind(2, status);
  q.bind(3, note);
  q.exec();
}

std::optional<std::string> State::account_status(const std::string& account) {
  std::lock_guard lock(mutex_);
  SQLite::Statement q(*db_, "SELECT status FROM accounts WHERE account=?");
  q.bind(1, account);
  if (!q.executeStep()) return std::nullopt;
  return q.getColumn(0).getString();
}

FolderMark State::folder_mark(const std::string& account, const std::string& folder) {
  std::lock_guard lock(mutex_);
  SQLite::Statement q(*db_, "SELECT uidvalidity, uidnext FROM folders WHERE account=? AND folder=?");
  q.bind(1, account);
  q.bind(2, folder);
  if (!q.executeStep()) return {};
  return FolderMark{opt_u32(q.getColumn(0)), opt_u32(q.getColumn(1))};
}

void State::set_folder_mark(const std::string& account, const std::string& folder, const std::string& target_folder,
                            const FolderMark& mark) {
  std::lock_guard lock(mutex_);
  commit_locked();
  SQLite::Statement q(*db_,
                      "INSERT INTO folders(account, folder, target_folder, uidvalidity, uidnext) VALUES (?, ?, ?, ?, ?) "
                      "ON CONFLICT(account, folder) DO UPDATE SET target_folder=excluded.target_folder, "
                      "uidvalidity=excluded.uidvalidity, uidnext=excluded.uidnext");
  q.bind(1, account);
  q.bind(2, folder);
  q.bind(3, target_folder);
  if (mark.uidvalidity) q.bind(4, static_cast<std::int64_t>(*mark.uidvalidity));
  else q.bind(4);
  if (mark.uidnext) q.bind(5, static_cast<std::int64_t>(*mark.uidnext));
  else q.bind(5);
  q.exec();
}

void State::forget_folder(const std::string& account, const std::string& folder) {
  std::lock_guard lock(mutex_);
  commit_locked();
  SQLite::Transaction t(*db_);
  for (const char* sql : {"DELETE FROM messages WHERE account=? AND folder=?", "DELETE FROM folders WHERE account=? AND folder=?"}) {
    SQLite::Statement q(*db_, sql);
    q.bind(1, account);
    q.bind(2, folder);
    q.exec();
  }
  t.commit();
}

std::map<std::string, std::uint32_t> State::done_counts(const std::string& account, const std::string& folder) {
  std::lock_guard lock(mutex_);
  commit_locked();
  std::map<std::string, std::uint32_t> out;
  SQLite::Statement q(*db_,
                      "SELECT sha256, count(*) FROM messages WHERE account=? AND folder=? AND status='done' GROUP BY sha256");
  q.bind(1, account);
  q.bind(2, folder);
  while (q.executeStep()) out[q.getColumn(0).getString()] = static_cast<std::uint32_t>(q.getColumn(1).getInt64());
  return out;
}

std::vector<MessageKey> State::pending(const std::string& account, const std::string& folder) {
  std::lock_guard lock(mutex_);
  commit_locked();
  std::vector<MessageKey> out;
  SQLite::Statement q(*db_, "SELECT sha256, ordinal FROM messages WHERE account=? AND folder=? AND status='pending'");
  q.bind(1, account);
  q.bind(2, folder);
  while (q.executeStep()) out.push_back(MessageKey{q.getColumn(0).getString(), static_cast<std::uint32_t>(q.getColumn(1).getInt64())});
  return out;
}

void State::mark_pending(const std::string& account, const std::string& folder, const std::vector<MessageKey>& keys,
                         const std::vector<std::uint64_t>& sizes) {
  std::lock_guard lock(mutex_);
  commit_locked();  // earlier done marks first, so the order on disk is the order of events
  SQLite::Transaction t(*db_);
  SQLite::Statement q(*db_,
                      "INSERT INTO messages(account, folder, sha256, ordinal, size, status) VALUES (?, ?, ?, ?, ?, 'pending') "
                      "ON CONFLICT DO UPDATE SET status='pending', uid=NULL, size=excluded.size");
  for (std::size_t i = 0; i < keys.size(); ++i) {
    q.bind(1, account);
    q.bind(2, folder);
    q.bind(3, keys[i].sha256);
    q.bind(4, static_cast<std::int64_t>(keys[i].ordinal));
    q.bind(5, static_cast<std::int64_t>(sizes[i]));
    q.exec();
    q.reset();
  }
  t.commit();
}

void State::mark_done(const std::string& account, const std::string& folder, const MessageKey& key,
                      std::optional<std::uint32_t> uid) {
  std::lock_guard lock(mutex_);
  begin_batch_locked();
  SQLite::Statement q(*db_,
                      "UPDATE messages SET status='done', uid=? WHERE account=? AND folder=? AND sha256=? AND ordinal=?");
  if (uid) q.bind(1, static_cast<std::int64_t>(*uid));
  else q.bind(1);
  q.bind(2, account);
  q.bind(3, folder);
  q.bind(4, key.sha256);
  q.bind(5, static_cast<std::int64_t>(key.ordinal));
  q.exec();
  if (++batched_ >= kDoneBatch) commit_locked();
}

void State::drop(const std::string& account, const std::string& folder, const MessageKey& key) {
  std::lock_guard lock(mutex_);
  begin_batch_locked();
  SQLite::Statement q(*db_, "DELETE FROM messages WHERE account=? AND folder=? AND sha256=? AND ordinal=? AND status='pending'");
  q.bind(1, account);
  q.bind(2, folder);
  q.bind(3, key.sha256);
  q.bind(4, static_cast<std::int64_t>(key.ordinal));
  q.exec();
}

void State::drop_pending(const std::string& account, const std::string& folder) {
  std::lock_guard lock(mutex_);
  commit_locked();
  SQLite::Statement q(*db_, "DELETE FROM messages WHERE account=? AND folder=? AND status='pending'");
  q.bind(1, account);
  q.bind(2, folder);
  q.exec();
}

void State::flush() {
  std::lock_guard lock(mutex_);
  commit_locked();
}

State::Totals State::totals(const std::string& account) {
  std::lock_guard lock(mutex_);
  commit_locked();
  SQLite::Statement q(*db_, "SELECT count(*), coalesce(sum(size), 0) FROM messages WHERE account=? AND status='done'");
  q.bind(1, account);
  Totals t;
  if (q.executeStep()) {
    t.messages = static_cast<std::uint64_t>(q.getColumn(0).getInt64());
    t.bytes = static_cast<std::uint64_t>(q.getColumn(1).getInt64());
  }
  return t;
}

}  // namespace mailmig
