#include "provision/ldap/ldap_provisioner.h"

#include <crypt.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <lber.h>
#include <ldap.h>
#include <ldif.h>  // after fmt/format.h, which brings the FILE it needs
#include <strings.h>
#include <sys/time.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/printable.h"
#include "provision/ldap/ldap_connection.h"

namespace mailmig {
namespace {

constexpr int kOperationTimeoutSeconds = 120;  // each synchronous LDAP operation

// ------------------------------------------------------------------ helpers

std::string trim(std::string_view text) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  return std::string(text);
}

std::string last_word(std::string_view text) {
  const std::string trimmed = trim(text);
  const auto cut = trimmed.find_last_of(" \t");
  return cut == std::string::npos ? trimmed : trimmed.substr(cut + 1);
}

// The part of "local@domain" before the last '@' (all of it without one).
std::string local_part(const std::string& address) {
  const auto at = address.rfind('@');
  return at == std::string::npos ? address : address.substr(0, at);
}

// Whether two DNs name the same entry: both in the server's LDAPv3 form,
// compared without case (the naming attributes here all ignore case).
bool same_dn(const std::string& a, const std::string& b) {
  const auto normal = [](const std::string& dn) {
    char* out = nullptr;
    if (ldap_dn_normalize(dn.c_str(), LDAP_DN_FORMAT_LDAPV3, &out, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
        out == nullptr) {
      return dn;
    }
    std::string text(out);
    ldap_memfree(out);
    return text;
  };
  return ::strcasecmp(normal(a).c_str(), normal(b).c_str()) == 0;
}

bool connection_lost(int rc) {
  return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR;
}

// ---------------------------------------------------------------- passwords

bool crypt_chars(std::string_view text, std::string_view extra) {
  return std::all_of(text.begin(), text.end(), [extra](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '/' ||
           extra.find(c) != std::string_view::npos;
  });
}

// A crypt(3) string slapd's {CRYPT} can check: $1$ (MD5), $5$ (SHA-256),
// $6$ (SHA-512) with salt and hash, or 13 characters of traditional DES.
bool is_crypt_string(std::string_view text) {
  for (std::string_view id : {"$1$", "$5$", "$6$"}) {
    if (text.starts_with(id)) {
      const std::string_view rest = text.substr(id.size());
      return !rest.empty() && rest.find('$') != std::string_view::npos && crypt_chars(rest, "$=");
    }
  }
  return text.size() == 13 && crypt_chars(text, "");
}

// The userPassword value that keeps the source's hash, when OpenLDAP can
// check that hash itself; nullopt otherwise.
std::optional<std::string> keepable_hash(const PasswordInfo& source) {
  if (source.kind != PasswordInfo::Kind::Encrypted) return std::nullopt;
  std::string_view value = source.value;
  if (value.empty() || value.find_first_of(std::string_view("\0\r\n \t", 5)) != std::string_view::npos) {
    return std::nullopt;
  }
  if (value.starts_with("U-crpt")) {  // CommuniGate's "\001U-crpt<crypt(3) output>"
    value.remove_prefix(6);
    if (is_crypt_string(value)) return "{CRYPT}" + std::string(value);
    return std::nullopt;
  }
  if (value.front() == '{') {
    const auto close = value.find('}');
    if (close == std::string_view::npos || close + 1 >= value.size()) return std::nullopt;
    const std::string_view scheme = value.substr(0, close + 1);
    const std::string_view data = value.substr(close + 1);
    for (std::string_view base64_scheme : {"{SSHA}", "{SHA}", "{SMD5}", "{MD5}"}) {
      if (scheme.size() == base64_scheme.size() &&
          ::strncasecmp(scheme.data(), base64_scheme.data(), scheme.size()) == 0) {
        if (crypt_chars(data, "+=")) return std::string(value);
        return std::nullopt;
      }
    }
    if (scheme.size() == 7 && ::strncasecmp(scheme.data(), "{CRYPT}", 7) == 0 && is_crypt_string(data)) {
      return std::string(value);
    }
    return std::nullopt;  // {SHA256}, {SHA512}...: need slapd modules that may not be loaded
  }
  if (is_crypt_string(value) && value.front() == '$') return "{CRYPT}" + std::string(value);
  return std::nullopt;
}

// "{CRYPT}$6$<salt>$<hash>": SHA-512 crypt with the default rounds and a salt
// from the operating system's random source.
std::string sha512_crypt(const std::string& password, const std::string& who) {
  if (password.find('\0') != std::string::npos) {
    throw ProvisionError(fmt::format("the password for {} contains a NUL byte", who));
  }
  std::array<char, CRYPT_GENSALT_OUTPUT_SIZE> salt{};
  errno = 0;
  if (crypt_gensalt_rn("$6$", 0, nullptr, 0, salt.data(), static_cast<int>(salt.size())) == nullptr) {
    throw ProvisionError(fmt::format("cannot make a SHA-512 crypt salt for {}: {}", who, error_text(errno)));
  }
  auto data = std::make_unique<crypt_data>();  // value-initialised: zeroed, as crypt_r requires
  const char* hashed = crypt_r(password.c_str(), salt.data(), data.get());
  if (hashed == nullptr || hashed[0] == '*') {
    throw ProvisionError(fmt::format("SHA-512 crypt of the password for {} failed", who));
  }
  std::string result = std::string("{CRYPT}") + hashed;
  ::explicit_bzero(data.get(), sizeof(crypt_data));
  return result;
}

// ----------------------------------------------------------------- template

struct TemplateLine {
  std::string attribute;
  std::string value;  // with placeholders
};

struct EntryTemplate {
  std::string dn;  // with placeholders; literal parts already DN-escaped
  std::vector<TemplateLine> lines;
  std::string naming_attribute;  // first RDN's attribute
  std::string naming_value;      // first RDN's value, with placeholders, not escaped
  bool uses_password = false;
};

struct Placeholders {
  std::string account;
  std::string domain;
  std::string real_name;
  std::string password_hash;
};

void check_placeholders(std::string_view text, const std::string& where, bool allow_password) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') continue;
    const char next = i + 1 < text.size() ? text[i + 1] : '\0';
    if (next == 'p' && !allow_password) {
      throw std::invalid_argument(fmt::format("{}: %p (the password hash) may not be used in the DN", where));
    }
    if (next != 'u' && next != 'd' && next != 'n' && next != 'p' && next != '%') {
      throw std::invalid_argument(
          fmt::format("{}: unknown placeholder \"%{}\" (use %u %d %n %p, or %% for a '%')", where,
                      next == '\0' ? std::string() : std::string(1, next)));
    }
    ++i;
  }
}

// Replaces the placeholders; `escape` is applied to each substituted value.
template <typename Escape>
std::string expand(std::string_view text, const Placeholders& values, Escape escape) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%' || i + 1 >= text.size()) {
      out += text[i];
      continue;
    }
    switch (text[++i]) {
      case 'u':
        out += escape(values.account);
        break;
      case 'd':
        out += escape(values.domain);
        break;
      case 'n':
        out += escape(values.real_name);
        break;
      case 'p':
        out += escape(values.password_hash);
        break;
      default:
        out += text[i];
        break;  // "%%"
    }
  }
  return out;
}

std::string as_is(const std::string& value) {
  return value;
}
std::string dn_value(const std::string& value) {
  return ldap_dn_escape(value);
}

bool valid_attribute_name(std::string_view name) {
  if (name.empty() || std::isalnum(static_cast<unsigned char>(name.front())) == 0) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == ';';
  });
}

// The attribute and value of a template DN's first RDN, read by libldap's DN
// parser (ldap_str2dn) with the placeholders still in it ('%' is an ordinary
// character in a DN string), so the value comes back unescaped. nullopt when
// the text is not a DN or that value is in binary (#hex) form.
std::optional<std::pair<std::string, std::string>> first_rdn(const std::string& dn) {
  LDAPDN parsed = nullptr;
  const int rc = ldap_str2dn(dn.c_str(), &parsed, LDAP_DN_FORMAT_LDAPV3);
  std::unique_ptr<LDAPRDN, decltype(&ldap_dnfree)> owner(parsed, &ldap_dnfree);
  if (rc != LDAP_SUCCESS || parsed == nullptr || parsed[0] == nullptr || parsed[0][0] == nullptr) {
    return std::nullopt;
  }
  const LDAPAVA& ava = *parsed[0][0];
  if ((ava.la_flags & LDAP_AVA_BINARY) != 0U) return std::nullopt;
  return std::pair{std::string(ava.la_attr.bv_val, ava.la_attr.bv_len),
                   std::string(ava.la_value.bv_val, ava.la_value.bv_len)};
}

// One "attribute: value" line, split by libldap's LDIF line parser
// (ldif_parse_line2, which also decodes base64 "attribute:: value"). A URL
// value ("attribute:< file:...") is refused before: libldap would read it.
std::pair<std::string, std::string> template_line(const std::string& text, const std::string& where) {
  const auto colon = text.find(':');
  if (colon == std::string::npos)
    throw std::invalid_argument(fmt::format("{}: expected \"attribute: value\"", where));
  if (text.compare(colon, 2, ":<") == 0)
    throw std::invalid_argument(fmt::format("{}: URL (:<) values are not supported", where));
  std::string line = text;  // parsed in place
  berval type{0, nullptr};
  berval value{0, nullptr};
  int allocated = 0;
  if (ldif_parse_line2(line.data(), &type, &value, &allocated) < 0) {
    throw std::invalid_argument(fmt::format("{}: not an LDIF \"attribute: value\" line", where));
  }
  std::pair<std::string, std::string> out{
      std::string(type.bv_val, type.bv_len),
      value.bv_val != nullptr ? std::string(value.bv_val, value.bv_len) : ""};
  if (allocated != 0) ber_memfree(value.bv_val);
  return out;
}

EntryTemplate load_template(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::invalid_argument(fmt::format("--ldap-template {}: cannot open: {}", path, error_text(errno)));
  EntryTemplate result;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string where = fmt::format("--ldap-template {} line {}", path, number);
    const std::string text = trim(line);
    if (text.empty() || text.front() == '#') continue;
    const auto [attribute, value] = template_line(text, where);
    if (!valid_attribute_name(attribute)) {
      throw std::invalid_argument(fmt::format("{}: \"{}\" is not an attribute name", where, attribute));
    }
    if (result.dn.empty()) {
      if (::strcasecmp(attribute.c_str(), "dn") != 0) {
        throw std::invalid_argument(fmt::format("{}: the first line must be \"dn: ...\"", where));
      }
      check_placeholders(value, where, false);
      auto rdn = first_rdn(value);
      if (!rdn || rdn->first.empty() || rdn->second.empty() || !valid_attribute_name(rdn->first)) {
        throw std::invalid_argument(fmt::format("{}: \"{}\" is not a DN (attr=value,...)", where, value));
      }
      result.dn = value;
      result.naming_attribute = std::move(rdn->first);
      result.naming_value = std::move(rdn->second);
      continue;
    }
    if (::strcasecmp(attribute.c_str(), "dn") == 0) {
      throw std::invalid_argument(fmt::format("{}: only one entry (one dn:) per template", where));
    }
    check_placeholders(value, where, true);
    if (value.find("%p") != std::string::npos) result.uses_password = true;
    result.lines.push_back(TemplateLine{attribute, value});
  }
  if (in.bad()) throw std::invalid_argument(fmt::format("--ldap-template {}: read error", path));
  if (result.dn.empty())
    throw std::invalid_argument(fmt::format("--ldap-template {}: no \"dn:\" line", path));
  if (result.lines.empty())
    throw std::invalid_argument(fmt::format("--ldap-template {}: no attributes", path));
  return result;
}

// --------------------------------------------------------- an entry to add

// Attribute -> values, in first-seen order, names compared case-insensitively.
class EntryBuilder {
 public:
  void add(const std::string& attribute, std::string value) {
    if (value.empty()) return;  // LDAP has no empty values for these syntaxes
    for (auto& [name, values] : attributes_) {
      if (::strcasecmp(name.c_str(), attribute.c_str()) == 0) {
        values.push_back(std::move(value));
        return;
      }
    }
    attributes_.push_back({attribute, {std::move(value)}});
  }

  // ldap_add_ext_s; returns the result code.
  int add_to(LDAP* ld, const std::string& dn) {
    std::vector<std::vector<berval>> values(attributes_.size());
    std::vector<std::vector<berval*>> value_pointers(attributes_.size());
    std::vector<LDAPMod> mods(attributes_.size());
    std::vector<LDAPMod*> mod_pointers;
    for (std::size_t i = 0; i < attributes_.size(); ++i) {
      for (std::string& v : attributes_[i].second) {
        values[i].push_back(berval{static_cast<ber_len_t>(v.size()), v.data()});
      }
      for (berval& b : values[i]) value_pointers[i].push_back(&b);
      value_pointers[i].push_back(nullptr);
      mods[i].mod_op = LDAP_MOD_ADD | LDAP_MOD_BVALUES;
      mods[i].mod_type = attributes_[i].first.data();
      mods[i].mod_vals.modv_bvals = value_pointers[i].data();
      mod_pointers.push_back(&mods[i]);
    }
    mod_pointers.push_back(nullptr);
    return ldap_add_ext_s(ld, dn.c_str(), mod_pointers.data(), nullptr, nullptr);
  }

 private:
  std::vector<std::pair<std::string, std::vector<std::string>>> attributes_;
};

// ------------------------------------------------------------- provisioner

class LdapProvisioner final : public Provisioner {
 public:
  LdapProvisioner(std::string url, const ProvisionOptions& options)
      : url_(std::move(url)),
        bind_dn_(options.admin_user),
        bind_password_(options.admin_password),
        ca_file_(options.ca_file),
        insecure_(options.insecure),
        base_(options.ldap_base) {
    const std::optional<ldap::Tls> tls = ldap::tls_for_url(url_);
    if (!tls) {
      throw std::invalid_argument(fmt::format(
          "--provision ldap:{}: expected one URL ldap://HOST[:PORT], ldaps://HOST[:PORT] or ldapi://PATH",
          url_));
    }
    if (base_.empty()) {
      throw std::invalid_argument("--provision ldap: needs --ldap-base (e.g. ou=people,dc=example,dc=com)");
    }
    if (bind_dn_.empty() || bind_password_.empty()) {
      throw std::invalid_argument(
          "--provision ldap: needs --provision-user (the bind DN) and --provision-password-file");
    }
    if (!options.ldap_template.empty()) template_ = load_template(options.ldap_template);
  }

  ~LdapProvisioner() override { disconnect(); }
  LdapProvisioner(const LdapProvisioner&) = delete;
  LdapProvisioner& operator=(const LdapProvisioner&) = delete;
  LdapProvisioner(LdapProvisioner&&) = delete;
  LdapProvisioner& operator=(LdapProvisioner&&) = delete;

  [[nodiscard]] std::string describe() const override {
    return fmt::format("LDAP directory at {} (entries under {})", url_, base_);
  }

  bool exists(const std::string& account, const std::string& domain) override {
    if (account.empty() || domain.empty()) throw ProvisionError("ldap: empty account or domain name");
    const std::string who = account + "@" + domain;
    const std::string filter = exists_filter(account, domain);
    std::array<char, 4> no_attributes_text = {"1.1"};
    std::array<char*, 2> attributes = {no_attributes_text.data(), nullptr};
    timeval timeout{kOperationTimeoutSeconds, 0};

    const std::scoped_lock lock(mutex_);
    int count = 0;
    const int rc = run([&](LDAP* ld) {
      LDAPMessage* result = nullptr;
      const int code = ldap_search_ext_s(ld, base_.c_str(), LDAP_SCOPE_SUBTREE, filter.c_str(),
                                         attributes.data(), 1, nullptr, nullptr, &timeout, 2, &result);
      count = result != nullptr ? ldap_count_entries(ld, result) : 0;
      if (result != nullptr) ldap_msgfree(result);
      return code;
    });
    if (rc == LDAP_SUCCESS || rc == LDAP_SIZELIMIT_EXCEEDED)
      return count > 0 || rc == LDAP_SIZELIMIT_EXCEEDED;
    if (rc == LDAP_NO_SUCH_OBJECT) {
      throw ProvisionError(
          fmt::format("LDAP search for {} at {}: the base {} does not exist", who, url_, base_));
    }
    throw ProvisionError(fmt::format("LDAP search for {} under {} at {} failed: {}", who, base_, url_,
                                     ldap::error_text(ld_, rc)));
  }

  Created create(const NewUser& user) override {
    if (user.account.empty() || user.domain.empty())
      throw ProvisionError("ldap: empty account or domain name");
    const std::string who = user.account + "@" + user.domain;
    Created created;
    Placeholders values{.account = user.account,
                        .domain = user.domain,
                        .real_name = trim(user.real_name).empty() ? user.account : trim(user.real_name),
                        .password_hash = {}};
    if (!template_ || template_->uses_password) {
      if (auto kept = keepable_hash(user.source_password)) {
        values.password_hash = std::move(*kept);
        created.kept_source_hash = true;
      } else if (user.password.empty()) {
        throw ProvisionError(fmt::format("cannot create LDAP entry for {}: no password", who));
      } else {
        values.password_hash = sha512_crypt(user.password, who);
      }
    }

    std::string dn;
    EntryBuilder entry;
    if (template_) {
      dn = expand(template_->dn, values, dn_value);
      for (const TemplateLine& line : template_->lines)
        entry.add(line.attribute, expand(line.value, values, as_is));
    } else {
      dn = fmt::format("uid={},{}", ldap_dn_escape(user.account), base_);
      for (const char* object_class : {"top", "person", "organizationalPerson", "inetOrgPerson"}) {
        entry.add("objectClass", object_class);
      }
      entry.add("cn", values.real_name);
      entry.add("sn", last_word(values.real_name));
      entry.add("uid", user.account);
      entry.add("mail", who);
      entry.add("userPassword", values.password_hash);
    }

    const std::scoped_lock lock(mutex_);
    const int rc = run([&](LDAP* ld) { return entry.add_to(ld, dn); });
    if (rc != LDAP_SUCCESS) {
      throw ProvisionError(fmt::format("cannot create LDAP entry {} for {} at {}: {}", dn, who, url_,
                                       ldap::error_text(ld_, rc)));
    }
    return created;
  }

  void finish() override {
    const std::scoped_lock lock(mutex_);
    disconnect();
  }

  [[nodiscard]] bool can_create_aliases() const override { return true; }

  [[nodiscard]] std::string alias_plan(const NewAlias& alias) const override {
    if (alias.group || alias.targets.size() != 1) {
      return fmt::format(
          "would create or complete the LDAP entry {} (groupOfNames + extensibleObject, mail {}, "
          "member: the entries of {})",
          ldap_alias_dn(alias, base_), alias.address, fmt::join(alias.targets, ", "));
    }
    return fmt::format("would add mail {} to the LDAP entry of {}", alias.address, alias.targets.front());
  }

  AliasOutcome create_alias(const NewAlias& alias) override {
    if (alias.address.empty() || alias.targets.empty()) throw ProvisionError("no address or no target");
    const std::scoped_lock lock(mutex_);
    if (alias.group || alias.targets.size() > 1) return make_group_entry(alias);
    return add_address(alias);
  }

 private:
  // A group's entry: created, or completed with the members and the mail
  // value it lacks.
  AliasOutcome make_group_entry(const NewAlias& alias) {
    AliasOutcome outcome;
    const std::string dn = ldap_alias_dn(alias, base_);
    std::vector<std::string> members;
    for (const std::string& target : alias.targets) {
      try {
        if (auto found = entry_of(target)) {
          members.push_back(std::move(*found));
        } else {
          outcome.problems.push_back(
              fmt::format("member {}: no entry for it under {} at {}: left out", target, base_, url_));
        }
      } catch (const ProvisionError& e) {
        outcome.problems.push_back(fmt::format("member {}: {}: left out", target, e.what()));
      }
    }
    if (members.empty()) {
      throw ProvisionError(
          fmt::format("none of its members has an entry under {} at {}: {} not created", base_, url_, dn));
    }
    refuse_other_holder(alias.address, dn);
    EntryBuilder entry;
    for (auto& [attribute, values] : ldap_alias_entry(alias, members)) {
      for (std::string& value : values) entry.add(attribute, std::move(value));
    }
    const int rc = run([&](LDAP* ld) { return entry.add_to(ld, dn); });
    if (rc == LDAP_SUCCESS) {
      outcome.done = fmt::format("created {} with {} member(s)", dn, members.size());
      return outcome;
    }
    if (rc != LDAP_ALREADY_EXISTS) {
      throw ProvisionError(
          fmt::format("cannot create LDAP entry {} at {}: {}", dn, url_, ldap::error_text(ld_, rc)));
    }
    const std::size_t mail_added = add_values(dn, "mail", {alias.address});
    const std::size_t members_added = add_values(dn, "member", members);
    if (mail_added + members_added == 0) {
      outcome.done = fmt::format("{} exists with every member: unchanged", dn);
    } else {
      outcome.done = fmt::format("{} existed: {} member(s){} added", dn, members_added,
                                 mail_added != 0 ? " and its mail address" : "");
    }
    return outcome;
  }

  // A pseudonym of one user or group: another mail value of its entry.
  AliasOutcome add_address(const NewAlias& alias) {
    const std::string& target = alias.targets.front();
    const std::optional<std::string> dn = entry_of(target);
    if (!dn) throw ProvisionError(fmt::format("{} has no entry under {} at {}", target, base_, url_));
    refuse_other_holder(alias.address, *dn);
    if (add_values(*dn, "mail", {alias.address}) == 0) {
      return AliasOutcome{.done = fmt::format("{} has mail {} already: unchanged", *dn, alias.address),
                          .problems = {}};
    }
    return AliasOutcome{.done = fmt::format("mail {} added to {}", alias.address, *dn), .problems = {}};
  }

  // The DN of the one entry the exists() search finds for "local@domain";
  // nullopt for none. Throws ProvisionError when several match.
  std::optional<std::string> entry_of(const std::string& address) {
    const auto at = address.rfind('@');
    if (at == std::string::npos || at == 0 || at + 1 == address.size()) {
      throw ProvisionError(fmt::format("\"{}\" is not an address local@domain", address));
    }
    const std::vector<std::string> dns =
        search_dns(exists_filter(address.substr(0, at), address.substr(at + 1)));
    if (dns.empty()) return std::nullopt;
    if (dns.size() > 1) {
      throw ProvisionError(fmt::format("{} entries under {} match {} ({}, ...): which one is meant",
                                       dns.size(), base_, address, dns.front()));
    }
    return dns.front();
  }

  // An address is the mail of one entry only: throws when another entry
  // than `owner` has it.
  void refuse_other_holder(const std::string& address, const std::string& owner) {
    for (const std::string& holder : search_dns(fmt::format("(mail={})", ldap_filter_escape(address)))) {
      if (!same_dn(holder, owner)) {
        throw ProvisionError(
            fmt::format("{} is already the mail address of {}: not given to {}", address, holder, owner));
      }
    }
  }

  // DNs of the entries under base_ that match `filter` (a few at most).
  std::vector<std::string> search_dns(const std::string& filter) {
    std::array<char, 4> no_attributes_text = {"1.1"};
    std::array<char*, 2> attributes = {no_attributes_text.data(), nullptr};
    timeval timeout{kOperationTimeoutSeconds, 0};
    std::vector<std::string> dns;
    const int rc = run([&](LDAP* ld) {
      dns.clear();
      LDAPMessage* result = nullptr;
      const int code = ldap_search_ext_s(ld, base_.c_str(), LDAP_SCOPE_SUBTREE, filter.c_str(),
                                         attributes.data(), 1, nullptr, nullptr, &timeout, 10, &result);
      for (LDAPMessage* e = result != nullptr ? ldap_first_entry(ld, result) : nullptr; e != nullptr;
           e = ldap_next_entry(ld, e)) {
        char* dn = ldap_get_dn(ld, e);
        if (dn != nullptr) {
          dns.emplace_back(dn);
          ldap_memfree(dn);
        }
      }
      if (result != nullptr) ldap_msgfree(result);
      return code;
    });
    if (rc == LDAP_SUCCESS || rc == LDAP_SIZELIMIT_EXCEEDED) return dns;
    if (rc == LDAP_NO_SUCH_OBJECT) {
      throw ProvisionError(
          fmt::format("LDAP search {} at {}: the base {} does not exist", filter, url_, base_));
    }
    throw ProvisionError(fmt::format("LDAP search {} under {} at {} failed: {}", filter, base_, url_,
                                     ldap::error_text(ld_, rc)));
  }

  // LDAP_MOD_ADD of `values` to `attribute` of `dn`. Values the entry has
  // already are fine: when the server says some exist, the values go one by
  // one. Returns how many were added. Throws ProvisionError.
  std::size_t add_values(const std::string& dn, const std::string& attribute,
                         const std::vector<std::string>& values) {
    const auto modify_add = [&](std::vector<std::string> some) {
      std::vector<berval> bervals;
      bervals.reserve(some.size());
      for (std::string& v : some) bervals.push_back(berval{static_cast<ber_len_t>(v.size()), v.data()});
      std::vector<berval*> pointers;
      pointers.reserve(bervals.size() + 1);
      for (berval& b : bervals) pointers.push_back(&b);
      pointers.push_back(nullptr);
      std::string type = attribute;
      LDAPMod mod{};
      mod.mod_op = LDAP_MOD_ADD | LDAP_MOD_BVALUES;
      mod.mod_type = type.data();
      mod.mod_vals.modv_bvals = pointers.data();
      std::array<LDAPMod*, 2> mods = {&mod, nullptr};
      const int rc =
          run([&](LDAP* ld) { return ldap_modify_ext_s(ld, dn.c_str(), mods.data(), nullptr, nullptr); });
      if (rc != LDAP_SUCCESS && rc != LDAP_TYPE_OR_VALUE_EXISTS) {
        throw ProvisionError(fmt::format("cannot add {} {} to {} at {}: {}", attribute, fmt::join(some, ", "),
                                         dn, url_, ldap::error_text(ld_, rc)));
      }
      return rc == LDAP_SUCCESS;
    };
    if (values.empty()) return 0;
    if (modify_add(values)) return values.size();
    if (values.size() == 1) return 0;
    std::size_t added = 0;
    for (const std::string& value : values) added += modify_add({value}) ? 1 : 0;
    return added;
  }

  [[nodiscard]] std::string exists_filter(const std::string& account, const std::string& domain) const {
    std::string mail = fmt::format("(mail={}@{})", ldap_filter_escape(account), ldap_filter_escape(domain));
    std::string naming = fmt::format("(uid={})", ldap_filter_escape(account));
    if (template_ && template_->naming_value.find("%n") == std::string::npos &&
        template_->naming_value.find("%p") == std::string::npos) {
      const Placeholders values{.account = account, .domain = domain, .real_name = {}, .password_hash = {}};
      const std::string value = expand(template_->naming_value, values, as_is);
      naming = fmt::format("({}={})", template_->naming_attribute, ldap_filter_escape(value));
    }
    if (naming == mail) return mail;
    return fmt::format("(|{}{})", naming, mail);
  }

  // Runs `op` on the connection (connecting first when needed). When an
  // existing connection turns out to be gone, reconnects once and repeats.
  template <typename Op>
  int run(Op op) {
    const bool fresh = ld_ == nullptr;
    if (fresh) connect();
    int rc = op(ld_);
    if (!fresh && connection_lost(rc)) {
      disconnect();
      connect();
      rc = op(ld_);
    }
    return rc;
  }

  void connect() {
    disconnect();
    try {
      ld_ = ldap::connect_and_bind(ldap::ConnectOptions{.url = url_,
                                                        .bind_dn = bind_dn_,
                                                        .password = bind_password_,
                                                        .ca_file = ca_file_,
                                                        .insecure = insecure_});
    } catch (const ldap::ConnectError& e) {
      throw ProvisionError(e.what());
    }
  }

  void disconnect() {
    if (ld_ != nullptr) {
      ldap_unbind_ext_s(ld_, nullptr, nullptr);
      ld_ = nullptr;
    }
  }

  const std::string url_;
  const std::string bind_dn_;
  const std::string bind_password_;  // secret
  const std::string ca_file_;
  const bool insecure_;
  const std::string base_;
  std::optional<EntryTemplate> template_;
  std::mutex mutex_;
  LDAP* ld_ = nullptr;  // guarded by mutex_
};

}  // namespace

std::string ldap_filter_escape(std::string_view value) {
  berval in{static_cast<ber_len_t>(value.size()), const_cast<char*>(value.data())};
  berval out{0, nullptr};
  if (ldap_bv2escaped_filter_value(&in, &out) != 0) throw std::bad_alloc();
  std::string text(out.bv_val, out.bv_len);
  ber_memfree(out.bv_val);
  return text;
}

std::string ldap_dn_escape(std::string_view value) {
  // libldap writes an attribute value only as part of an RDN: write "x=VALUE"
  // in the LDAPv3 string form, UTF-8 kept as it is (LDAP_DN_PRETTY), and keep
  // what follows "x=".
  std::array<char, 2> attribute{"x"};
  LDAPAVA ava{};
  ava.la_attr = berval{1, attribute.data()};
  ava.la_value = berval{static_cast<ber_len_t>(value.size()), const_cast<char*>(value.data())};
  ava.la_flags = LDAP_AVA_STRING;
  std::array<LDAPAVA*, 2> rdn{&ava, nullptr};
  berval out{0, nullptr};
  if (ldap_rdn2bv(rdn.data(), &out, LDAP_DN_FORMAT_LDAPV3 | LDAP_DN_PRETTY) != LDAP_SUCCESS) {
    // A DN string is UTF-8 (RFC 4514); libldap refuses anything else, and so would the server.
    throw ProvisionError(
        fmt::format("\"{}\" is not UTF-8, so it cannot be part of an LDAP DN", printable(value)));
  }
  std::string text(out.bv_val + 2, out.bv_len - 2);
  ber_memfree(out.bv_val);
  return text;
}

std::string ldap_alias_dn(const NewAlias& alias, std::string_view base) {
  return fmt::format("cn={},{}", ldap_dn_escape(alias.group ? local_part(alias.address) : alias.address),
                     base);
}

LdapAttributes ldap_alias_entry(const NewAlias& alias, const std::vector<std::string>& member_dns) {
  return {{"objectClass", {"top", "groupOfNames", "extensibleObject"}},
          {"cn", {alias.group ? local_part(alias.address) : alias.address}},
          {"mail", {alias.address}},
          {"member", member_dns}};
}

std::unique_ptr<Provisioner> make_ldap_provisioner(const std::string& url, const ProvisionOptions& options) {
  return std::make_unique<LdapProvisioner>(url, options);
}

}  // namespace mailmig
