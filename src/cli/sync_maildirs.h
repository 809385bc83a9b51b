// The sync_maildirs front end (a third name of the mailmig binary, like
// cg2kms): NethServer's sync_maildirs.sh command line, run on the destination
// to bring its mailboxes up to date with the live SME Server/NethService
// source over ssh. It is `mailmig sync` with the SME Server home layout on the
// source (maildir+ssh://root@IP:PORT/home/e-smith/files/users, %n/Maildir)
// and NethServer's Dovecot layout on the destination
// (maildir:/var/lib/nethserver/vmail, %n/Maildir), for the users that have a
// mailbox on the destination.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace mailmig::cli {

struct SyncMaildirsOptions {
  bool help = false;
  bool dry_run = false;  // -n
  int port = 22;         // -p
  std::string host;      // -s
  // Additions (long options only):
  std::string ssh_user = "root";
  std::string source_path = "/home/e-smith/files/users";
  std::string source_user_path = "%n/Maildir";
  std::string target_path = "/var/lib/nethserver/vmail";
  std::string target_user_path = "%n/Maildir";
  std::string ssh_key;
  std::string ssh_known_hosts;
  std::string state_dir;
  std::vector<std::string> users;  // --user (repeatable): only these
  std::string domain;              // default: this host's DNS domain
  std::string owner;               // default: the owner of the target directory
  std::string log_file;
  unsigned jobs = 4;
};

struct SyncMaildirsParse {
  SyncMaildirsOptions options;
  std::string error;  // non-empty: a usage error
};

SyncMaildirsParse parse_sync_maildirs(int argc, char** argv);
void print_sync_maildirs_help(std::ostream& out);

// maildir+ssh://USER@HOST:PORT/PATH for the options (IPv6 hosts in brackets).
std::string sync_maildirs_source(const SyncMaildirsOptions& options);

int sync_maildirs_main(int argc, char** argv);

}  // namespace mailmig::cli
