// One Maildir folder on disk as Dovecot sees it: cur/ new/ tmp/, the
// maildirfolder marker, dovecot-uidlist and dovecot-keywords. Everything that
// reads or changes the UID map happens under the uidlist dot-lock, exactly
// where Dovecot would hold it, so a Dovecot serving the same tree meanwhile
// sees a consistent folder.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "format/maildir/keywords.h"
#include "format/maildir/uidlist.h"
#include "target/maildir/files.h"
#include "target/maildir/maildir_target.h"

namespace mailmig::maildir {

struct Settings {
  std::string maildir_root;  // the account's root: INBOX, and where dovecot-uidvalidity lives
  MaildirTargetOptions::Fsync fsync = MaildirTargetOptions::Fsync::Batch;
  Owner owner;
  [[nodiscard]] bool syncing() const { return fsync != MaildirTargetOptions::Fsync::Never; }
};

// The folder as found under the lock.
struct Snapshot {
  Uidlist list;
  Keywords keywords;
  std::map<std::string, std::string> files;  // base -> "cur/<name>" or "new/<name>"
  // The file of `uid` relative to the folder, when the uid is listed and its file exists.
  [[nodiscard]] std::optional<std::string> file_of(std::uint32_t uid) const;
  // Listed messages whose file exists.
  [[nodiscard]] std::uint64_t message_count() const;
};

class Mailbox {
 public:
  Mailbox(std::string dir, bool is_root, Settings settings);

  [[nodiscard]] const std::string& dir() const { return dir_; }
  [[nodiscard]] const Settings& settings() const { return settings_; }
  [[nodiscard]] std::string path(const std::string& relative) const;
  [[nodiscard]] bool exists() const;
  // cur/ new/ tmp/ and (below the root) maildirfolder; nothing when they exist.
  void create();

  // Takes the uidlist lock and reads the folder; a missing uidlist gets a new
  // UIDVALIDITY. Files the uidlist does not name (a crash between the rename
  // into cur/ and the uidlist update, or another writer) get the next UIDs in
  // Dovecot's order -- what Dovecot would give them. `change` may modify the
  // snapshot (records, keywords); the uidlist and keywords are written back
  // when anything changed, then the lock is released.
  Snapshot locked(const std::function<void(Snapshot&)>& change);
  Snapshot sync() {
    return locked([](Snapshot&) {});
  }

  // Where a message's file is now (Dovecot renames files when flags change).
  [[nodiscard]] std::optional<std::string> find_file(const std::string& base) const;

 private:
  std::map<std::string, std::string> scan() const;

  std::string dir_;
  bool is_root_;
  Settings settings_;
};

}  // namespace mailmig::maildir
