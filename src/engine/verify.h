// mailmig verify: does the target hold exactly what the source holds? One
// account at a time: the target login (and the password recorded in the
// .pass file), then per source folder message counts, RFC822.SIZE totals,
// SHA-256 of every message's bytes (or of a deterministic sample), flags and
// INTERNALDATE. Knows neither the command line nor IMAP: the target is a
// Target, the run state a VerifyHistory, the extra user login a callback.
//
// Failures keep to their scope as in the migrate engine: a message the source
// cannot read is reported and left out of the comparison; a folder the source
// or the target cannot read is reported and the next folder is verified; any
// other exception from the target is a lost connection, reconnected as the
// retry policy says; a failure of account scope, or a connection given up on,
// fails the account (the caller goes on with the next one).
//
// Inside: verify.cpp (login, folder loop, scopes, reconnects),
// verify_source.cpp (reading a source folder, the sample),
// verify_folder_match.cpp (which target folder is which source folder's) and
// verify_compare.cpp (the comparison of one folder, no I/O).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/problem.h"
#include "core/retry_policy.h"
#include "engine/naming.h"
#include "engine/state.h"
#include "source/source.h"
#include "target/target.h"

namespace mailmig {

enum class DiffKind : std::uint8_t {
  Missing,                // in the source, not on the target
  Extra,                  // on the target, its content nowhere in the source folder
  Duplicated,             // the target holds more copies of a content than the source
  Altered,                // the state maps the source message to a target UID whose content differs
  FlagsDiffer,            // system flags or keywords differ (\Recent ignored)
  DateDiffers,            // INTERNALDATE differs (epoch seconds)
  FolderMissingOnTarget,  // a source folder has no target folder
  FolderMissingInSource,  // a target folder no source folder maps to
  LoginFailed,            // the target login or the .pass file's password was refused
  TotalsDiffer,           // --sample: message count or bytes differ (which messages is not known)
};
inline constexpr std::array kDiffKinds = {DiffKind::Missing,
                                          DiffKind::Extra,
                                          DiffKind::Duplicated,
                                          DiffKind::Altered,
                                          DiffKind::FlagsDiffer,
                                          DiffKind::DateDiffers,
                                          DiffKind::FolderMissingOnTarget,
                                          DiffKind::FolderMissingInSource,
                                          DiffKind::LoginFailed,
                                          DiffKind::TotalsDiffer};
// "missing", "extra", ..., "folder_missing_on_target", "login_failed", "totals_differ".
const char* diff_kind_name(DiffKind kind);

struct Difference {
  DiffKind kind = DiffKind::Missing;
  std::string folder;  // source folder; the target folder's name for folder_missing_in_source
  std::string sha256;
  std::string source_file;
  std::optional<std::uint64_t> source_offset;
  std::optional<std::uint32_t> target_uid;
  std::string detail;  // for people: what differs
};

struct FolderCheck {
  std::string name;         // source folder (empty for a target-only folder)
  std::string target_name;  // neutral name on the target
  std::uint64_t messages_source = 0;
  std::uint64_t messages_target = 0;
  std::uint64_t bytes_source = 0;
  std::uint64_t bytes_target = 0;
  std::uint64_t checked = 0;  // source messages whose hash was compared
  std::uint64_t differences = 0;
};

struct LoginCheck {
  bool ok = false;
  std::string method;  // "dovecot-master", "user", ... ; "password-file" for the .pass check
  std::string error;
};

struct AccountCheck {
  std::string domain;
  std::string account;
  std::string target_account;  // account@domain on the target (after --rename-map / --lowercase)
  LoginCheck login;
  std::optional<LoginCheck> password_login;  // when the .pass file lists the account
  std::string status = "ok";                 // ok | differs | problems | failed
  std::vector<FolderCheck> folders;
  std::vector<Difference> differences;        // at most VerifyOptions::max_differences
  std::map<DiffKind, std::uint64_t> by_kind;  // all differences, also those not kept
  std::uint64_t problems = 0;                 // read problems reported for this account
  double seconds = 0;

  [[nodiscard]] std::uint64_t difference_count() const;
};

// What an earlier `mailmig migrate` recorded (its state database), read-only.
class VerifyHistory {
 public:
  VerifyHistory() = default;
  VerifyHistory(const VerifyHistory&) = delete;
  VerifyHistory& operator=(const VerifyHistory&) = delete;
  virtual ~VerifyHistory() = default;

  // Source folder -> the target folder name the migration used.
  virtual std::map<std::string, std::string> target_folders(const std::string& account_key) = 0;
  // Message identity -> the target UID it was stored under (where known).
  virtual std::map<MessageKey, std::uint32_t> copied(const std::string& account_key,
                                                     const std::string& folder) = 0;
};

struct VerifyOptions {
  NamingRules naming;
  double sample_percent = 100;       // < 100: hash only a deterministic sample
  VerifyHistory* history = nullptr;  // null: no state, altered shows as missing + extra
  std::string login_method;          // for the report
  std::function<std::string(const AccountInfo&)> login_password;  // --auth user: the owner's password
  // The password the .pass file records for the account; nullopt: not listed.
  std::function<std::optional<std::string>(const AccountInfo&, const TargetAccountName&)> recorded_password;
  // Logs in as the user with `password`; returns the server's refusal, empty on success.
  std::function<std::string(const TargetAccountName&, const std::string& password)> user_login;
  std::size_t max_differences = 100000;  // kept per account (all are counted)
  const std::atomic<bool>* stop = nullptr;
  // Reconnecting to the target after a lost connection: migrate's policy.
  RetryPolicy reconnect{.attempts = 3, .backoff = std::chrono::seconds(1)};
};

// True when the message at `position` of the folder belongs to the sample.
// Deterministic: the same store gives the same sample on every run.
bool in_sample(const std::string& account_key, const std::string& folder, std::uint64_t position,
               double percent);

AccountCheck verify_account(Source& source, const AccountInfo& account, Target& target,
                            const VerifyOptions& options, ProblemSink& sink);

}  // namespace mailmig
