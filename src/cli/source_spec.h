// "scheme:location" source specifications (cgp:/var/CommuniGate,
// maildir:/var/vmail, mbox:/home, archive:/backup/smeserver.tgz, ...).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/selection.h"
#include "source/source.h"

namespace mailmig::archive {
struct ArchiveOptions;
}  // namespace mailmig::archive

namespace mailmig::cli {

struct SourceOptions {
  std::string main_domain;  // CommuniGate: name of the Accounts/ domain
  bool allow_live = false;  // CommuniGate: read a store whose server is running
  // maildir:/mbox: where the accounts are: a pattern with %d (domain), %n
  // (local part), %u (local@domain), e.g. /var/vmail/%d/%n/Maildir. Empty:
  // the layout is detected.
  std::string user_path;
  std::string inbox_path;               // mbox: the INBOX file of each account, e.g. /var/mail/%n
  std::string domain;                   // maildir:/mbox: the domain of layouts without a domain level
  std::string user;                     // maildir:/mbox: the account when PATH is one account's mail
  std::string mbox_format = "auto";     // mbox: auto | mboxo | mboxrd | mboxcl | mboxcl2
  std::string archive_layout = "auto";  // archive: auto | sme | maildir | cgp

  // imap://HOST:PORT and imaps://HOST:PORT sources
  std::string source_auth = "user";  // user | dovecot-master | sasl-authzid | kerio-master
  std::string source_master_user;
  std::string source_master_password_file;
  std::string source_master_separator = "*";
  std::string source_login_format = "%u@%d";
  std::string source_passwords;  // file of "account@domain password" lines (mode 600)
  std::string source_ca_file;
  bool source_insecure = false;
  bool source_allow_plaintext = false;
  unsigned source_timeout_seconds = 120;
  std::vector<std::string> accounts;  // IMAP: the accounts named by the selection ("account@domain")

  // maildir+ssh://[USER@]HOST[:PORT]/PATH sources
  std::string ssh_key;                  // private key file; empty: ssh agent, then ~/.ssh/id_*
  std::string ssh_key_passphrase_file;  // file holding the key's passphrase (mode 600)
  std::string ssh_known_hosts;          // empty: ~/.ssh/known_hosts
};

// The source options every command shares (CommuniGate, maildir/mbox layout, IMAP source logins).
void add_source_options(CLI::App& command, SourceOptions& options);
// imap:// or imaps://: a source that cannot list its accounts.
bool is_imap_spec(const std::string& spec);
// Completes `options` from the account selection after parsing: the domain
// and user of flat maildir/mbox trees, and the accounts an IMAP source cannot
// list itself (--user, --users-file, --ldap-filter).
void take_selection(SourceOptions& options, const std::string& spec, const Selection& selection);

class SpecError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct OpenedSource {
  std::unique_ptr<Source> source;
  std::string description;  // one line for people: what was opened and how it was understood
};

// Throws SpecError for an unknown scheme or a source that cannot be used as
// asked (maildir:/mbox:/archive: layout problems, an unreadable archive),
// cgp::StoreError when the store cannot be used.
OpenedSource open_source(const std::string& spec, const SourceOptions& options);

// The archive: source's options as the command line sets them; SpecError for
// an --archive-layout it does not know.
archive::ArchiveOptions archive_options(const SourceOptions& options);

}  // namespace mailmig::cli
