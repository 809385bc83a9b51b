// The one store interface (isync's driver.h idea): every source -- CommuniGate
// store, Maildir, mbox, IMAP, archive -- enumerates domains -> accounts ->
// folders -> messages and streams message bytes. The engine sees only this.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/byte_reader.h"
#include "core/message.h"
#include "core/password_info.h"
#include "core/problem.h"

namespace mailmig {

// Receives problems; the caller fills in the context (domain/account/folder)
// the callee does not know.
using ProblemFn = std::function<void(Problem)>;

struct DomainInfo {
  std::string name;
  bool main = false;     // the server's main domain (CommuniGate: Accounts/)
  std::string location;  // directory or URL, for reports
  std::vector<std::string> aliases;
};

struct AccountInfo {
  std::string domain;
  std::string name;  // login name without domain
  std::string real_name;
  std::string location;  // directory or file, for reports
  std::string kind;      // source-specific, e.g. "multi-mailbox" / "single-mailbox"
  PasswordInfo password;
};

struct FolderInfo {
  std::string name;        // UTF-8, '/'-separated, "INBOX" for the inbox
  bool selectable = true;  // false: a directory-only folder (\Noselect)
  bool subscribed = false;
  std::string location;  // file or directory holding the messages
  std::string format;    // "mbox", "mdir", "dir", ...
  // The source's UIDVALIDITY when it keeps IMAP UIDs (dovecot-uidlist, an IMAP
  // source): with MessageInfo::uid, a target that can keep them does.
  std::optional<std::uint32_t> uidvalidity;
};

class Folder {
 public:
  Folder() = default;
  Folder(const Folder&) = delete;
  Folder& operator=(const Folder&) = delete;
  virtual ~Folder() = default;

  // Enumerates the messages in store order, with metadata and RFC822.SIZE,
  // without holding more than one message's metadata. Problems go to `problem`;
  // the scan continues after them where the format allows.
  virtual void scan(const std::function<void(const MessageInfo&)>& on_message, const ProblemFn& problem) = 0;
  // Streams one message's bytes as stored (storage artefacts removed, line
  // ends as stored). `message` comes from scan(). Throws IoError.
  [[nodiscard]] virtual std::unique_ptr<ByteReader> open(const MessageInfo& message) const = 0;
};

class Account {
 public:
  Account() = default;
  Account(const Account&) = delete;
  Account& operator=(const Account&) = delete;
  virtual ~Account() = default;

  [[nodiscard]] virtual const AccountInfo& info() const = 0;
  // The folder tree, parents before children.
  virtual std::vector<FolderInfo> folders(const ProblemFn& problem) = 0;
  [[nodiscard]] virtual std::unique_ptr<Folder> open_folder(const FolderInfo& folder) const = 0;
};

class Source {
 public:
  Source() = default;
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;
  virtual ~Source() = default;

  virtual std::vector<DomainInfo> domains(const ProblemFn& problem) = 0;
  virtual std::vector<AccountInfo> accounts(const DomainInfo& domain, const ProblemFn& problem) = 0;
  [[nodiscard]] virtual std::unique_ptr<Account> open_account(const AccountInfo& account) const = 0;
};

}  // namespace mailmig
