#include "engine/state.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace mailmig {

MessageFlags MessageFlags::of(const MessageInfo& message) {
  MessageFlags out{.flags = message.flags, .keywords = message.keywords};
  std::sort(out.keywords.begin(), out.keywords.end());
  out.keywords.erase(std::unique(out.keywords.begin(), out.keywords.end()), out.keywords.end());
  return out;
}

namespace {

constexpr unsigned kDoneBatch = 500;  // done marks per transaction

// Version 1: the tables as first released. Later versions are reached by the
// migrations in upgrade_schema(), so a state written by an earlier mailmig
// (stage 1 of a migration) keeps working for its stage-2 sync.
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
INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', '1');
)SQL";

constexpr int kSchemaVersion = 4;

// Version 2 (stage-2 sync): the source flags and keywords of each message
// (NULL: copied before version 2, unknown), and the neutral target name of
// each folder (NULL: before version 2, when it was always the source name).
constexpr const char* kSchema2 = R"SQL(
ALTER TABLE messages ADD COLUMN flags INTEGER;
ALTER TABLE messages ADD COLUMN keywords TEXT;
ALTER TABLE folders ADD COLUMN target_neutral TEXT;
UPDATE meta SET value='2' WHERE key='schema';
)SQL";

// Version 3 (sources that keep UIDs): each message's source UID and the source
// folder's UIDVALIDITY they belong to (NULL: unknown, the content decides).
constexpr const char* kSchema3 = R"SQL(
ALTER TABLE messages ADD COLUMN source_uid INTEGER;
ALTER TABLE folders ADD COLUMN source_uidvalidity INTEGER;
UPDATE meta SET value='3' WHERE key='schema';
)SQL";

// Version 4 (one state for every source of a target): which source recorded
// each message (NULL: before version 4, taken as the current source).
constexpr const char* kSchema4 = R"SQL(
CREATE TABLE IF NOT EXISTS sources (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
ALTER TABLE messages ADD COLUMN source INTEGER;
UPDATE meta SET value='4' WHERE key='schema';
)SQL";

std::optional<std::uint32_t> opt_u32(const SQLite::Column& c) {
  if (c.isNull()) return std::nullopt;
  return static_cast<std::uint32_t>(c.getInt64());
}

int schema_version(SQLite::Database& db) {
  SQLite::Statement q(db, "SELECT value FROM meta WHERE key='schema'");
  return q.executeStep() ? std::stoi(q.getColumn(0).getString()) : 0;
}

// IMMEDIATE: two runs opening an old state at once must not both add the columns.
void upgrade_schema(SQLite::Database& db) {
  SQLite::Transaction t(db, SQLite::TransactionBehavior::IMMEDIATE);
  const int version = schema_version(db);
  if (version > kSchemaVersion) {
    throw std::runtime_error(fmt::format("written by a newer mailmig (schema {}; this one knows up to {})",
                                         version, kSchemaVersion));
  }
  if (version < 2) db.exec(kSchema2);
  if (version < 3) db.exec(kSchema3);
  if (version < 4) db.exec(kSchema4);
  t.commit();
}

// Keywords are IMAP atoms (no spaces): stored space-separated.
std::string join_keywords(const std::vector<std::string>& keywords) {
  std::string out;
  for (const std::string& k : keywords) {
    if (!out.empty()) out += ' ';
    out += k;
  }
  return out;
}

std::vector<std::string> split_keywords(const std::string& text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t end = std::min(text.find(' ', pos), text.size());
    if (end > pos) out.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

void bind_flags(SQLite::Statement& q, int first, const MessageFlags& flags) {
  q.bind(first, static_cast<std::int64_t>(flags.flags));
  q.bind(first + 1, join_keywords(flags.keywords));
}

// Binds the identity of a message: account, folder, hash, ordinal from `first` on.
void bind_key(SQLite::Statement& q, int first, const std::string& account, const std::string& folder,
              const MessageKey& key) {
  q.bind(first, account);
  q.bind(first + 1, folder);
  q.bind(first + 2, key.sha256);
  q.bind(first + 3, static_cast<std::int64_t>(key.ordinal));
}

}  // namespace

State::State(const std::string& path) : path_(path) {
  try {
    db_ = std::make_unique<SQLite::Database>(
        path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_FULLMUTEX);
    // WAL: a committed transaction survives kill -9 without an fsync per commit;
    // synchronous=NORMAL trades only the last commits on a power loss.
    db_->exec("PRAGMA journal_mode=WAL");
    db_->exec("PRAGMA synchronous=NORMAL");
    db_->exec("PRAGMA busy_timeout=10000");
    db_->exec(kSchema);
    upgrade_schema(*db_);
  } catch (const std::exception& e) {
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

void State::set_source(const std::string& name, bool record) {
  std::lock_guard lock(mutex_);
  commit_locked();
  if (record) {
    SQLite::Statement insert(*db_, "INSERT OR IGNORE INTO sources(name) VALUES (?)");
    insert.bind(1, name);
    insert.exec();
  }
  SQLite::Statement q(*db_, "SELECT id FROM sources WHERE name=?");
  q.bind(1, name);
  source_id_ = q.executeStep() ? q.getColumn(0).getInt64() : -1;  // -1: no row has it
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
  SQLite::Statement q(
      *db_, "SELECT uidvalidity, uidnext, source_uidvalidity FROM folders WHERE account=? AND folder=?");
  q.bind(1, account);
  q.bind(2, folder);
  if (!q.executeStep()) return {};
  return FolderMark{opt_u32(q.getColumn(0)), opt_u32(q.getColumn(1)), opt_u32(q.getColumn(2))};
}

void State::set_folder_mark(const std::string& account, const std::string& folder,
                            const std::string& target_display, const std::string& target,
                            const FolderMark& mark) {
  std::lock_guard lock(mutex_);
  commit_locked();
  SQLite::Statement q(
      *db_,
      "INSERT INTO folders(account, folder, target_folder, uidvalidity, uidnext, target_neutral, "
      "source_uidvalidity) VALUES (?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT(account, folder) DO UPDATE SET target_folder=excluded.target_folder, "
      "uidvalidity=excluded.uidvalidity, uidnext=excluded.uidnext, target_neutral=excluded.target_neutral, "
      "source_uidvalidity=excluded.source_uidvalidity");
  q.bind(1, account);
  q.bind(2, folder);
  q.bind(3, target_display);
  if (mark.uidvalidity)
    q.bind(4, static_cast<std::int64_t>(*mark.uidvalidity));
  else
    q.bind(4);
  if (mark.uidnext)
    q.bind(5, static_cast<std::int64_t>(*mark.uidnext));
  else
    q.bind(5);
  q.bind(6, target);
  if (mark.source_uidvalidity)
    q.bind(7, static_cast<std::int64_t>(*mark.source_uidvalidity));
  else
    q.bind(7);
  q.exec();
}

std::vector<FolderRecord> State::folders(const std::string& account) {
  std::lock_guard lock(mutex_);
  commit_locked();
  std::vector<FolderRecord> out;
  SQLite::Statement q(
      *db_, "SELECT folder, target_folder, target_neutral FROM folders WHERE account=? ORDER BY folder");
  q.bind(1, account);
  while (q.executeStep()) {
    out.push_back(
        FolderRecord{.folder = q.getColumn(0).getString(),
                     .target_display = q.getColumn(1).getString(),
                     .target = q.getColumn(2).isNull() ? std::string() : q.getColumn(2).getString()});
  }
  return out;
}

void State::forget_folder(const std::string& account, const std::string& folder) {
  std::lock_guard lock(mutex_);
  commit_locked();
  SQLite::Transaction t(*db_);
  for (const char* sql : {"DELETE FROM messages WHERE account=? AND folder=?",
                          "DELETE FROM folders WHERE account=? AND folder=?"}) {
    SQLite::Statement q(*db_, sql);
    q.bind(1, account);
    q.bind(2, folder);
    q.exec();
  }
  t.commit();
}

std::vector<DoneMessage> State::done_messages(const std::string& account, const std::string& folder) {
  std::lock_guard lock(mutex_);
  commit_locked();
  std::vector<DoneMessage> out;
  SQLite::Statement q(*db_,
                      "SELECT sha256, ordinal, uid, flags, keywords, source_uid, size, source FROM messages "
                      "WHERE account=? AND folder=? AND status='done'");
  q.bind(1, account);
  q.bind(2, folder);
  while (q.executeStep()) {
    DoneMessage m{
        .key = MessageKey{q.getColumn(0).getString(), static_cast<std::uint32_t>(q.getColumn(1).getInt64())},
        .size = static_cast<std::uint64_t>(q.getColumn(6).getInt64()),
        .uid = opt_u32(q.getColumn(2)),
        .source_uid = opt_u32(q.getColumn(5)),
        .other_source = source_id_ && !q.getColumn(7).isNull() && q.getColumn(7).getInt64() != *source_id_};
    if (!q.getColumn(3).isNull()) {
      m.flags = MessageFlags{.flags = static_cast<Flags>(q.getColumn(3).getInt64()),
                             .keywords = split_keywords(q.getColumn(4).getString())};
    }
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<MessageKey> State::pending(const std::string& account, const std::string& folder) {
  std::lock_guard lock(mutex_);
  commit_locked();
  std::vector<MessageKey> out;
  SQLite::Statement q(
      *db_, "SELECT sha256, ordinal FROM messages WHERE account=? AND folder=? AND status='pending'");
  q.bind(1, account);
  q.bind(2, folder);
  while (q.executeStep())
    out.push_back(
        MessageKey{q.getColumn(0).getString(), static_cast<std::uint32_t>(q.getColumn(1).getInt64())});
  return out;
}

void State::mark_pending(const std::string& account, const std::string& folder,
                         const std::vector<PendingMessage>& messages) {
  std::lock_guard lock(mutex_);
  commit_locked();  // earlier done marks first, so the order on disk is the order of events
  SQLite::Transaction t(*db_);
  SQLite::Statement q(
      *db_,
      "INSERT INTO messages(account, folder, sha256, ordinal, size, status, flags, keywords, source_uid, "
      "source) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?) "
      "ON CONFLICT DO UPDATE SET status='pending', uid=NULL, size=excluded.size, "
      "flags=excluded.flags, keywords=excluded.keywords, source_uid=excluded.source_uid, "
      "source=excluded.source");
  for (const PendingMessage& m : messages) {
    q.bind(1, account);
    q.bind(2, folder);
    q.bind(3, m.key.sha256);
    q.bind(4, static_cast<std::int64_t>(m.key.ordinal));
    q.bind(5, static_cast<std::int64_t>(m.size));
    bind_flags(q, 6, m.flags);
    if (m.source_uid)
      q.bind(8, static_cast<std::int64_t>(*m.source_uid));
    else
      q.bind(8);
    bind_source(q, 9);
    q.exec();
    q.reset();
  }
  t.commit();
}

void State::adopt(const std::string& account, const std::string& folder, const PendingMessage& m,
                  std::uint32_t uid) {
  std::lock_guard lock(mutex_);
  begin_batch_locked();
  SQLite::Statement q(
      *db_,
      "INSERT INTO messages(account, folder, sha256, ordinal, size, status, flags, keywords, source_uid, "
      "source, uid) VALUES (?, ?, ?, ?, ?, 'done', ?, ?, ?, ?, ?) "
      "ON CONFLICT DO UPDATE SET status='done', uid=excluded.uid, size=excluded.size, "
      "flags=excluded.flags, keywords=excluded.keywords, source_uid=excluded.source_uid, "
      "source=excluded.source");
  bind_key(q, 1, account, folder, m.key);
  q.bind(5, static_cast<std::int64_t>(m.size));
  bind_flags(q, 6, m.flags);
  if (m.source_uid)
    q.bind(8, static_cast<std::int64_t>(*m.source_uid));
  else
    q.bind(8);
  bind_source(q, 9);
  q.bind(10, static_cast<std::int64_t>(uid));
  q.exec();
  if (++batched_ >= kDoneBatch) commit_locked();
}

void State::bind_source(SQLite::Statement& q, int index) const {
  if (source_id_)
    q.bind(index, *source_id_);
  else
    q.bind(index);
}

void State::mark_done(const std::string& account, const std::string& folder, const MessageKey& key,
                      std::optional<std::uint32_t> uid) {
  std::lock_guard lock(mutex_);
  begin_batch_locked();
  SQLite::Statement q(
      *db_,
      "UPDATE messages SET status='done', uid=? WHERE account=? AND folder=? AND sha256=? AND ordinal=?");
  if (uid)
    q.bind(1, static_cast<std::int64_t>(*uid));
  else
    q.bind(1);
  bind_key(q, 2, account, folder, key);
  q.exec();
  if (++batched_ >= kDoneBatch) commit_locked();
}

void State::drop(const std::string& account, const std::string& folder, const MessageKey& key) {
  std::lock_guard lock(mutex_);
  begin_batch_locked();
  SQLite::Statement q(
      *db_,
      "DELETE FROM messages WHERE account=? AND folder=? AND sha256=? AND ordinal=? AND status='pending'");
  bind_key(q, 1, account, folder, key);
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

void State::set_flags(const std::string& account, const std::string& folder, const MessageKey& key,
                      const MessageFlags& flags) {
  std::lock_guard lock(mutex_);
  begin_batch_locked();
  SQLite::Statement q(
      *db_,
      "UPDATE messages SET flags=?, keywords=? WHERE account=? AND folder=? AND sha256=? AND ordinal=?");
  bind_flags(q, 1, flags);
  bind_key(q, 3, account, folder, key);
  q.exec();
  if (++batched_ >= kDoneBatch) commit_locked();
}

void State::set_source_uid(const std::string& account, const std::string& folder, const MessageKey& key,
                           std::optional<std::uint32_t> source_uid) {
  std::lock_guard lock(mutex_);
  begin_batch_locked();
  SQLite::Statement q(
      *db_,
      "UPDATE messages SET source_uid=?, source=? WHERE account=? AND folder=? AND sha256=? AND ordinal=?");
  if (source_uid)
    q.bind(1, static_cast<std::int64_t>(*source_uid));
  else
    q.bind(1);
  bind_source(q, 2);
  bind_key(q, 3, account, folder, key);
  q.exec();
  if (++batched_ >= kDoneBatch) commit_locked();
}

void State::forget_messages(const std::string& account, const std::string& folder,
                            const std::vector<MessageKey>& keys) {
  std::lock_guard lock(mutex_);
  commit_locked();
  SQLite::Transaction t(*db_);
  SQLite::Statement q(*db_, "DELETE FROM messages WHERE account=? AND folder=? AND sha256=? AND ordinal=?");
  for (const MessageKey& key : keys) {
    bind_key(q, 1, account, folder, key);
    q.exec();
    q.reset();
  }
  t.commit();
}

void State::flush() {
  std::lock_guard lock(mutex_);
  commit_locked();
}

State::Totals State::totals(const std::string& account) {
  std::lock_guard lock(mutex_);
  commit_locked();
  SQLite::Statement q(
      *db_, "SELECT count(*), coalesce(sum(size), 0) FROM messages WHERE account=? AND status='done'");
  q.bind(1, account);
  Totals t;
  if (q.executeStep()) {
    t.messages = static_cast<std::uint64_t>(q.getColumn(0).getInt64());
    t.bytes = static_cast<std::uint64_t>(q.getColumn(1).getInt64());
  }
  return t;
}

}  // namespace mailmig
