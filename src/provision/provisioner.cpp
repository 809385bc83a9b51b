#include "provision/provisioner.h"

#include <fmt/format.h>

#include <stdexcept>

#include "provision/command/command_provisioner.h"
#include "provision/dovecot/dovecot_provisioner.h"
#include "provision/kerio/kerio_provisioner.h"
#include "provision/ldap/ldap_provisioner.h"

namespace mailmig {

AliasOutcome Provisioner::create_alias(const NewAlias& alias) {
  throw ProvisionError(fmt::format("{}: {} cannot create aliases", alias.address, describe()));
}

std::string Provisioner::alias_plan(const NewAlias& alias) const {
  throw ProvisionError(fmt::format("{}: {} cannot create aliases", alias.address, describe()));
}

std::unique_ptr<Provisioner> make_provisioner(const std::string& spec, const ProvisionOptions& options) {
  if (spec.empty() || spec == "none") return nullptr;
  const auto colon = spec.find(':');
  const std::string kind = spec.substr(0, colon);
  const std::string arg = colon == std::string::npos ? std::string() : spec.substr(colon + 1);
  if (arg.empty()) {
    throw std::invalid_argument(
        fmt::format("--provision {}: expected none, kerio:URL, dovecot:FILE, ldap:URL or command:CMD", spec));
  }
  if (kind == "kerio") return make_kerio_provisioner(arg, options);
  if (kind == "dovecot") return make_dovecot_provisioner(arg, options);
  if (kind == "ldap") return make_ldap_provisioner(arg, options);
  if (kind == "command") return make_command_provisioner(arg, options);
  throw std::invalid_argument(
      fmt::format("--provision {}: unknown kind \"{}\" (none, kerio, dovecot, ldap, command)", spec, kind));
}

}  // namespace mailmig
