// The target side of the one store interface: where messages are delivered.
// The engine sees only this; IMAP (and later Maildir) implement it.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/byte_reader.h"
#include "core/message.h"

namespace mailmig {

// The outcome of delivering one message.
struct Delivery {
  bool ok = false;
  std::optional<std::uint32_t> uidvalidity;
  std::optional<std::uint32_t> uid;
  std::string error;  // when refused: the server's words
  std::string code;   // machine-readable reason when known (OVERQUOTA, TRYCREATE, ...)
};

// A message as the target holds it (verify, sync): metadata always, the
// SHA-256 of its bytes when asked for.
struct StoredMessage {
  std::uint32_t uid = 0;
  std::uint64_t size = 0;  // RFC822.SIZE
  Flags flags = 0;
  std::vector<std::string> keywords;
  std::optional<DateTime> internal_date;
  std::string sha256;  // empty when the body was not fetched
};

// Which stored messages to hash (after their metadata is known); null = all.
using WantBody = std::function<bool(const StoredMessage&)>;

// Bytes of a message exactly as the target must store them (CRLF form).
using OpenMessage = std::function<std::unique_ptr<ByteReader>()>;

class TargetFolder {
 public:
  TargetFolder() = default;
  TargetFolder(const TargetFolder&) = delete;
  TargetFolder& operator=(const TargetFolder&) = delete;
  virtual ~TargetFolder() = default;

  // Queues a message (size = RFC822.SIZE, the bytes `open` yields). Results
  // arrive through the callback given to TargetAccount::open_folder, in the
  // order of add(), possibly during a later add() or finish().
  virtual void add(const MessageInfo& message, OpenMessage open) = 0;
  virtual void finish() = 0;
  // Messages (by order of add()) whose outcome is unknown after a failure.
  [[nodiscard]] virtual std::vector<std::size_t> unresolved() const = 0;
  // Messages already in the folder before we started.
  [[nodiscard]] virtual std::uint64_t existing_messages() const = 0;
  // The folder's name on the target, for messages.
  [[nodiscard]] virtual std::string display_name() const = 0;
  // The folder's UIDVALIDITY and UIDNEXT when it was opened (when the target has them).
  [[nodiscard]] virtual std::optional<std::uint32_t> uidvalidity() const = 0;
  [[nodiscard]] virtual std::optional<std::uint32_t> uidnext() const = 0;
  // Asks the server for the folder's UIDNEXT now.
  virtual std::optional<std::uint32_t> current_uidnext() = 0;
  // SHA-256 of every message with UID >= first_uid, streamed (for reconciling
  // messages whose APPEND outcome a crash left unknown). Call before add().
  virtual std::vector<std::pair<std::uint32_t, std::string>> hashes_from(std::uint32_t first_uid) = 0;
  // Asks the target to give the messages added from now on the source's UIDs
  // (MessageInfo::uid) under the source's UIDVALIDITY, so mail clients and
  // POP3 UIDLs see the same messages. Only a target that writes the store
  // itself can (Maildir with dovecot-uidlist), and only while the folder's
  // UIDs do not conflict: returns whether it will. Call before add().
  virtual bool keep_uids(std::uint32_t source_uidvalidity) = 0;
  // The write-ahead hook: called with add() indices before they are sent.
  virtual void set_before_send(std::function<void(const std::vector<std::size_t>&)> hook) = 0;
  // Stage-2 sync (call after finish()): changes flags of messages by UID,
  // adding and removing exactly the given ones (a flag the user set on the
  // target meanwhile stays unless the source removed it too).
  virtual void change_flags(std::uint32_t uid, Flags add, Flags remove,
                            const std::vector<std::string>& add_keywords,
                            const std::vector<std::string>& remove_keywords) = 0;
  // Removes messages by UID (\Deleted + UID EXPUNGE of exactly those UIDs;
  // never a plain EXPUNGE, which could take messages someone else marked).
  virtual void remove(const std::vector<std::uint32_t>& uids) = 0;
  // Non-empty when the name had to change on the target (e.g. it held the
  // server's hierarchy delimiter): says how, for the report.
  [[nodiscard]] virtual std::string rename_note() const = 0;
};

class TargetAccount {
 public:
  TargetAccount() = default;
  TargetAccount(const TargetAccount&) = delete;
  TargetAccount& operator=(const TargetAccount&) = delete;
  virtual ~TargetAccount() = default;

  using ResultFn = std::function<void(std::size_t index, const Delivery& delivery)>;
  // Creates the folder (and parents) if missing and opens it for appending.
  virtual std::unique_ptr<TargetFolder> open_folder(const std::string& neutral_name, bool subscribe,
                                                    ResultFn on_result) = 0;
  // Folders that exist on the target (neutral names).
  virtual std::vector<std::string> folders() = 0;
  // The name a folder gets on the target for `neutral_name` (after the
  // target's own rules, e.g. its hierarchy delimiter replaced), to detect
  // collisions before creating anything.
  [[nodiscard]] virtual std::string stored_name(const std::string& neutral_name) = 0;
  // Every message of an existing folder in UID order, streamed (bounded
  // memory): metadata of all, SHA-256 of the bytes of those `want_body`
  // accepts (all when null). Throws when the folder does not exist.
  virtual void read_folder(const std::string& neutral_name, const WantBody& want_body,
                           const std::function<void(const StoredMessage&)>& on_message) = 0;
  virtual void close() = 0;
  // The account's connections to the target were lost `drops` times in this
  // run: appends on this connection use smaller commands (a target without
  // batches ignores it).
  virtual void set_connection_drops(unsigned /*drops*/) {}
};

class Target {
 public:
  Target() = default;
  Target(const Target&) = delete;
  Target& operator=(const Target&) = delete;
  virtual ~Target() = default;

  // Logs in as the owner of `account` in `domain`. Throws on failure
  // (TargetAuthError for a refused login, other exceptions for the network).
  virtual std::unique_ptr<TargetAccount> open_account(const std::string& account, const std::string& domain,
                                                      const std::string& user_password) = 0;
  [[nodiscard]] virtual std::string describe() const = 0;
  // What this target stores for a source keyword (IMAP: the atom-special
  // characters replaced; Maildir: the name as it is); nullopt when it stores
  // nothing for it. Verify compares the source's keywords through this, so
  // each target's own rule applies and no other target's.
  [[nodiscard]] virtual std::optional<std::string> stored_keyword(const std::string& keyword) const = 0;
};

class TargetAuthError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// read_folder() of a folder the target does not have.
class TargetFolderMissing : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace mailmig
