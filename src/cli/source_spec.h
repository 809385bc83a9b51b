// "scheme:location" source specifications (cgp:/var/CommuniGate,
// maildir:/var/vmail, mbox:/home, ...).
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include "source/source.h"

namespace mailmig::cli {

struct SourceOptions {
  std::string main_domain;  // CommuniGate: name of the Accounts/ domain
  bool allow_live = false;  // CommuniGate: read a store whose server is running
  // maildir:/mbox: where the accounts are: a pattern with %d (domain), %n
  // (local part), %u (local@domain), e.g. /var/vmail/%d/%n/Maildir. Empty:
  // the layout is detected.
  std::string user_path;
  std::string inbox_path;   // mbox: the INBOX file of each account, e.g. /var/mail/%n
  std::string domain;       // maildir:/mbox: the domain of layouts without a domain level
  std::string user;         // maildir:/mbox: the account when PATH is one account's mail
  std::string mbox_format = "auto";  // mbox: auto | mboxo | mboxrd | mboxcl | mboxcl2
};

class SpecError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct OpenedSource {
  std::unique_ptr<Source> source;
  std::string description;  // one line for people: what was opened and how it was understood
};

// Throws SpecError for an unknown scheme or a source that cannot be used as
// asked (maildir:/mbox: layout problems), cgp::StoreError when the store
// cannot be used.
OpenedSource open_source(const std::string& spec, const SourceOptions& options);

}  // namespace mailmig::cli
