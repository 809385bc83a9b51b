// A CommuniGate Pro store inside an archive (Accounts/ and Domains/ at the
// top or one directory down): the directory conventions of cgp/store.cpp
// applied to entry names, the settings parsed with cgp/settings.h.
#pragma once

#include <optional>
#include <string>

#include "source/archive/catalogue.h"

namespace mailmig::archive {

// "" or "<dir>/" when the archive holds a store there; nullopt otherwise.
std::optional<std::string> find_cgp_base(const RawCatalogue& raw);

struct CgpLayoutOptions {
  std::string base;         // from find_cgp_base
  std::string main_domain;  // --main-domain; else Settings/Main.settings; else fallback_domain
  std::string fallback_domain;
};

// Fills domains, accounts and the description's facts. Throws
// maildir::SourceError when the main domain has no name.
void build_cgp_catalogue(const RawCatalogue& raw, const CgpLayoutOptions& options, Catalogue& out,
                         std::string& main_domain_origin);

}  // namespace mailmig::archive
