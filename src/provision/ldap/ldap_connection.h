// One way to reach an LDAP directory, shared by the LDAP provisioner and the
// --ldap-filter account selection: the URL decides TLS (ldaps:// TLS from the
// start, ldapi:// none, ldap:// to anything but loopback StartTLS first),
// certificates and host names are checked unless insecure, LDAPv3, timeouts
// on connect and on every operation, referrals off, then a simple bind
// (anonymous when no DN is given). Errors name the URL and the step, never the
// password.
#pragma once

#include <ldap.h>

#include <optional>
#include <stdexcept>
#include <string>

namespace mailmig::ldap {

enum class Tls { None, StartTls, Implicit };

// "localhost", 127.0.0.0/8, ::1 and ::ffff:127.x: no StartTLS needed there.
bool is_loopback_host(std::string host);

// The TLS rule for one ldap://, ldaps:// or ldapi:// URL; nullopt for anything
// else (another scheme, several URLs, not a URL).
std::optional<Tls> tls_for_url(const std::string& url);

// "Invalid credentials (49): <the server's diagnostic message>".
std::string error_text(LDAP* ld, int rc);

struct ConnectOptions {
  std::string url;
  std::string bind_dn;   // empty: anonymous bind
  std::string password;  // secret
  std::string ca_file;
  bool insecure = false;
  bool starttls = false;  // StartTLS on an ldap:// URL to loopback too (elsewhere it is always used)
};

class ConnectError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A bound connection; the caller unbinds it (ldap_unbind_ext_s). Throws
// ConnectError ("LDAP URL: ...", "LDAP StartTLS with URL failed: ...",
// "LDAP bind as DN at URL failed: ...") and std::invalid_argument for a URL
// tls_for_url() does not accept.
LDAP* connect_and_bind(const ConnectOptions& options);

}  // namespace mailmig::ldap
