// The cg2kms password rules: which password a newly created user gets, strong
// generated passwords, and the .pass file every set password is recorded in.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>

#include "core/password_info.h"

namespace mailmig {

enum class PasswordHow { Forced, Migrated, Set, Generated };
const char* password_how_name(PasswordHow how);  // "forced" / "migrated" / "set" / "generated"

struct PasswordRules {
  std::string
      force_set_pass;    // -forceSetPass; the caller sets it only for a single-user run. Empty: not given.
  std::string set_pass;  // -setPass. Empty: not given.
};

struct ChosenPassword {
  std::string password;  // secret
  PasswordHow how = PasswordHow::Generated;
};

// The seed's precedence for a user that is being created:
//   1. -forceSetPass when given                            -> Forced
//   2. the CommuniGate password when stored in plain form  -> Migrated
//   3. -setPass when the stored one cannot be read         -> Set
//   4. otherwise a generated strong password               -> Generated
// "Cannot be read" covers an encrypted password and, by our reading, also a
// missing one (see passwords.cpp).
ChosenPassword choose_password(const PasswordRules& rules, const PasswordInfo& source);

// A random password from OpenSSL's RAND_bytes over an alphabet without
// look-alikes (no 0/O/o, 1/l/I): upper and lower case letters, digits 2-9 and
// the symbols "-._~". It always holds at least one of each of those four
// classes and starts with a letter or digit, so it needs no quoting in CSV,
// URLs or shell words and no spreadsheet reads it as a formula. Uniform over
// all such strings. Throws std::invalid_argument for length < 4 and
// std::runtime_error when the random generator fails.
std::string generate_password(std::size_t length = 16);

// The cg2kms_YYYY-MM-DD_HH-MM-SS.pass file: CSV per RFC 4180 (UTF-8, CRLF),
// header "account,password,how", one row per account. The constructor creates
// the file (never an existing one, never through a symlink) with mode 0600
// whatever the umask, and writes the header, so it exists before the first
// password. add() is thread-safe and puts each row into the file with one
// write(2) call; close() fsyncs.
class PassFile {
 public:
  enum class Existing {
    Refuse,  // O_EXCL: a file already there is an error (EEXIST)
    // Append to a password file an earlier run of the same command started
    // (a resume after kill -9 or Ctrl-C): only a regular file owned by us,
    // mode 600, that starts with our header; anything else is refused.
    Resume,
  };
  // Throws IoError (e.g. EEXIST when `path` exists and `existing` is Refuse).
  explicit PassFile(std::string path, Existing existing = Existing::Refuse);
  PassFile(const PassFile&) = delete;
  PassFile& operator=(const PassFile&) = delete;
  ~PassFile();  // closes; errors are swallowed -- call close() to see them

  // Appends `account_at_domain,password,how`. Throws IoError, or
  // std::logic_error after close().
  void add(const std::string& account_at_domain, const std::string& password, PasswordHow how);
  // fsyncs the file and its directory and closes it. Throws IoError. Safe to call twice.
  void close();
  [[nodiscard]] const std::string& path() const { return path_; }
  // The length of `text` up to and including its last CRLF: what a resumed
  // file keeps of a row a crash or a full disk cut short.
  static std::size_t whole_rows_length(std::string_view text);

  // "<prefix>_YYYY-MM-DD_HH-MM-SS.pass" in local time.
  static std::string default_name(std::chrono::system_clock::time_point when,
                                  const std::string& prefix = "cg2kms");
  // One CSV field: quoted (quotes doubled) when it holds a comma, quote, CR or
  // LF, or starts or ends with a space or TAB; as it is otherwise.
  static std::string csv_field(std::string_view field);

 private:
  void write_all(std::string_view data);
  // Opens an existing file for Existing::Resume; false when there is none.
  bool open_ours();

  std::string path_;
  std::mutex mutex_;
  int fd_ = -1;
};

}  // namespace mailmig
