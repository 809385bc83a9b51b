// Which kind of backup an archive is, and its catalogue: the SME Server full
// backup (user homes under home/e-smith/files/users/, the domain in the
// e-smith configuration database), a tar of Maildir homes or virtual-domain
// trees (the maildir: source's layouts), or a CommuniGate Pro store.
#pragma once

#include <string>

#include "source/archive/catalogue.h"

namespace mailmig::archive {

struct LayoutOptions {
  Layout layout = Layout::Auto;
  std::string user_path;    // --user-path, relative to the archive's top
  std::string domain;       // --domain: layouts without a domain (required then)
  std::string user;         // --user: the account of an archive holding one Maildir
  std::string main_domain;  // --main-domain: CommuniGate's Accounts/ domain
};

// "auto" / "sme" / "maildir" / "cgp"; nullopt for anything else.
std::optional<Layout> parse_layout(std::string_view text);

// Throws maildir::SourceError when the archive cannot be read as asked (no
// mail found, a domain needed but not named).
Catalogue build_catalogue(RawCatalogue raw, const LayoutOptions& options);

}  // namespace mailmig::archive
