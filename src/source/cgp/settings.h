// What the migrator takes from CommuniGate settings files (account.settings,
// account.info, Main.settings, Domain.settings). Key names and password
// encodings are the assumed ones of docs/cgp-store.md (3.1, 3.2); all of it is here.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "format/cgp/cgp_text.h"
#include "source/source.h"

namespace mailmig::cgp {

// Reads and parses a settings file. Problems (unreadable, too large, syntax
// error with line/column) go to `problem` with `file` set; returns nullopt then.
std::optional<Value> read_settings_file(const std::string& path, const ProblemFn& problem);

// Interprets a `Password` value: leading byte 0x01 + method tag, or a known
// hash prefix ({SHA}, $1$, ...) = encrypted; anything else = plain.
PasswordInfo interpret_password(const Value* password);

struct AccountSettings {
  PasswordInfo password;
  std::string real_name;
};
AccountSettings interpret_account_settings(const Value& settings);

struct AccountState {
  std::vector<std::string> subscribed;  // UTF-8 folder names
};
AccountState interpret_account_info(const Value& info);

// DomainName from Settings/Main.settings, when present.
std::optional<std::string> main_domain_name(const Value& main_settings);
// Alternative domain names from Domain.settings (DomainAliases).
std::vector<std::string> domain_aliases(const Value& domain_settings);

}  // namespace mailmig::cgp
