// Creates users as entries in an LDAP directory (OpenLDAP, 389-DS, ...) through
// libldap: --provision ldap:URL with --ldap-base and an optional --ldap-template.
//
//   connect     ldap_initialize(URL), LDAPv3, network timeout; ldaps:// uses TLS
//               from the start, ldap:// to a host that is not loopback does
//               StartTLS first (CA from ca_file, certificate and host name are
//               verified unless insecure); ldapi:// and loopback stay plain
//   bind        simple bind as admin_user (a DN) with admin_password
//   exists()    subtree search under ldap_base for
//               (|(uid=ACCOUNT)(mail=ACCOUNT@DOMAIN)), values escaped per
//               RFC 4515; with a template, its naming attribute replaces uid
//   create()    ldap_add of uid=ACCOUNT,<ldap_base> (inetOrgPerson: cn, sn,
//               uid, mail, userPassword = {CRYPT} + SHA-512 crypt), or the
//               entry the template describes
//   create_alias()  groups and pseudonyms (import-backup), see below
//
// Template file: one LDIF `attr: value` line each (libldap's LDIF line
// parser; `attr:: base64` works too, `attr:< URL` is refused), the first one
// `dn: ...` (checked with libldap's DN parser); blank lines and lines starting
// with '#' are ignored; an attribute may repeat (several values). Placeholders: %u account, %d domain, %n
// real name (the account when there is none), %p the userPassword value, %% a '%'. In the DN the values are
// escaped as RFC 4514 requires; %p is not allowed there. A value that expands to nothing is left out.
// Example:
//
//   dn: uid=%u,ou=people,dc=example,dc=com
//   objectClass: inetOrgPerson
//   uid: %u
//   cn: %n
//   sn: %n
//   mail: %u@%d
//   userPassword: %p
//
// When the source password is a hash OpenLDAP checks itself ({SSHA}, {SHA},
// {SMD5}, {MD5}, {CRYPT}, or a bare / CommuniGate U-crpt crypt(3) string
// $1$ $5$ $6$, stored as {CRYPT}...), it is stored as it is and create()
// returns kept_source_hash = true.
//
// Groups: a group (or a pseudonym with several targets) becomes the entry
//
//   dn: cn=GROUP,<ldap_base>          (cn=LOCAL@DOMAIN for such a pseudonym)
//   objectClass: top, groupOfNames, extensibleObject
//   cn: GROUP
//   mail: GROUP@DOMAIN
//   member: <DN of each member, found with the exists() search>
//
// groupOfNames has no `mail`; extensibleObject (RFC 4512 4.3, built into
// slapd and 389-DS, no schema to load) is the one standard auxiliary class
// that allows it. Postfix expands such an entry with an ldap table that has
// special_result_attribute = member and result_attribute = mail.
// A pseudonym with one target adds its address as another `mail` value of
// the target's entry (a user's, or a group's made before). A second run
// adds only what is missing: members and values already there are left as
// they are, nothing is ever removed. An address that already is the `mail`
// of another entry under the base is refused (mail must stay unambiguous).
//
// Connects on first use. One connection guarded by a mutex (the engine calls
// from several threads); when the server went away it reconnects once. Errors
// are ProvisionError naming the URL, DN and account, never a password.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "provision/provisioner.h"

namespace mailmig {

// url: ldap://HOST[:PORT], ldaps://HOST[:PORT] or ldapi://PATH (one URL).
// Uses admin_user (bind DN), admin_password, ca_file, insecure, ldap_base and
// ldap_template from `options`. Throws std::invalid_argument for a bad URL,
// a missing base or bind DN, or a bad/unreadable template; connects only when
// first used.
std::unique_ptr<Provisioner> make_ldap_provisioner(const std::string& url, const ProvisionOptions& options);

// An assertion value for a search filter (RFC 4515), by libldap's
// ldap_bv2escaped_filter_value: '*' '(' ')' '\' NUL and every byte above
// 0x7F become \XX hex pairs; the rest stays.
std::string ldap_filter_escape(std::string_view value);
// An attribute value for a DN string (RFC 4514), written by libldap
// (ldap_rdn2bv): '"' '+' ',' ';' '<' '>' '\' '=', a leading '#' or space, a
// trailing space and NUL become \XX hex pairs; UTF-8 stays as it is.
// Throws ProvisionError for a value that is not UTF-8 (no DN can hold it).
std::string ldap_dn_escape(std::string_view value);

// The DN of the entry for a group (cn=LOCAL,<base>) or for a pseudonym with
// several targets (cn=LOCAL@DOMAIN,<base>: never the name of a group).
std::string ldap_alias_dn(const NewAlias& alias, std::string_view base);

// The attributes of that entry (see above), attribute -> values, in order.
using LdapAttributes = std::vector<std::pair<std::string, std::vector<std::string>>>;
LdapAttributes ldap_alias_entry(const NewAlias& alias, const std::vector<std::string>& member_dns);

}  // namespace mailmig
