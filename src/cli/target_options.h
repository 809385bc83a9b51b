// The target and authentication options shared by copy, migrate, sync and
// verify (the command-line contract of issue 4), and the secrets they read.
#pragma once

#include <CLI/CLI.hpp>
#include <map>
#include <memory>
#include <string>

#include "source/source.h"
#include "target/imap/imap_target.h"

namespace mailmig::cli {

struct TargetArgs {
  std::string target;  // imap://host:port or imaps://host:port
  std::string auth = "user";
  std::string master_user;
  std::string master_password_file;
  std::string login_format = "%u@%d";
  std::string master_separator = "*";
  std::string ca_file;
  bool insecure = false;
  bool allow_plaintext = false;
  std::string trace;
  std::string passwords_file;  // --auth user: "account@domain password" lines
  std::string append_mode = "auto";
  unsigned timeout_seconds = 120;
  std::string master_password;  // secret given directly (cg2kms -password); not a command-line option
  // maildir:PATH targets
  std::string target_user_path = "%d/%n/Maildir";
  std::string fsync = "batch";
  std::string owner;  // USER[:GROUP] owning what is written (running as root)
};

void add_target_options(CLI::App& command, TargetArgs& args);

// Builds the target: imap://, imaps:// (reads the master password, opens the
// trace) or maildir:PATH. Throws std::invalid_argument / std::runtime_error
// with a message for people.
std::unique_ptr<Target> make_target(const TargetArgs& args);
// Whether the target logs in (IMAP) or writes files (maildir:).
bool target_is_imap(const TargetArgs& args);

// Reads a secret from a file: the first line, without its line end. Refuses a
// file that group or others can read, like ssh does with keys.
std::string read_secret_file(const std::string& path);

// The owner's password for --auth user: from the --passwords list, else the
// source's plain password, else empty (the login will be refused and reported).
std::string login_password_for(const AccountInfo& account,
                               const std::map<std::string, std::string>& passwords);

// "account@domain password" per line (# comments); mode checked like read_secret_file.
std::map<std::string, std::string> read_password_list(const std::string& path);

}  // namespace mailmig::cli
