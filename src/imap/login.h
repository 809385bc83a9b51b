// Opening an authenticated IMAP session: server URL, TLS policy, and the four
// ways to log in as a mailbox owner (own password, Dovecot master user, SASL
// PLAIN with authorization identity, Kerio X-MASTERAUTH + X-SETUSER).
#pragma once

#include <memory>
#include <string>

#include "imap/session.h"

namespace mailmig::imap {

struct ServerUrl {
  std::string host;
  std::uint16_t port = 143;
  bool implicit_tls = false;  // imaps://
};
// Parses imap://host[:port] and imaps://host[:port] (IPv6 literals in brackets).
// Throws std::invalid_argument with a message for people.
ServerUrl parse_server_url(const std::string& url);
// "imap://host:port", or "imap://user@host:port" with a user, for reports.
std::string format_server_url(const ServerUrl& url, const std::string& user = {});

enum class AuthMethod { User, DovecotMaster, SaslAuthzid, KerioMaster };
// "user" | "dovecot-master" | "sasl-authzid" | "kerio-master"; throws std::invalid_argument.
AuthMethod parse_auth_method(const std::string& name);
const char* auth_method_name(AuthMethod method);

struct ConnectOptions {
  ServerUrl server;
  TlsOptions tls;
  bool allow_plaintext = false;  // send credentials unencrypted to a non-loopback host
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(20)};
  std::chrono::milliseconds timeout{std::chrono::seconds(120)};
  std::shared_ptr<Trace> trace;
};

struct Credentials {
  AuthMethod method = AuthMethod::User;
  std::string user;                    // the mailbox owner's login name on this server
  std::string password;                // User: the owner's; otherwise the master/admin password. Secret.
  std::string master_user;             // DovecotMaster, SaslAuthzid: the admin/master login name
  std::string master_separator = "*";  // DovecotMaster: user<sep>master
};

// How every account of one server is logged in to, for the IMAP source and
// the IMAP target alike: where the server is, and either each owner's own
// password (AuthMethod::User) or one master/admin login for all.
struct ServerLogin {
  ConnectOptions connect;
  AuthMethod auth = AuthMethod::User;
  std::string master_user;
  std::string master_password;  // secret; for every method but User
  std::string master_separator = "*";
  std::string login_format = "%u@%d";  // core/login_name.h

  // The credentials for account@domain; `owner_password` counts for AuthMethod::User only.
  [[nodiscard]] Credentials credentials_for(const std::string& account, const std::string& domain,
                                            const std::string& owner_password) const;
};

// A login the server refused (wrong password, unknown user, master auth off).
class AuthError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Connects, secures (implicit TLS, or STARTTLS whenever offered), refuses to
// send credentials in clear to a non-loopback host unless allowed, logs in,
// refreshes capabilities and enables UTF8=ACCEPT when offered.
// Throws NetError, AuthError, CommandFailed.
std::unique_ptr<Session> open_session(const ConnectOptions& options, const Credentials& credentials);
// The part of open_session after the connection (and implicit TLS) exists.
std::unique_ptr<Session> log_in(std::unique_ptr<Transport> transport, const ConnectOptions& options,
                                const Credentials& credentials);

// Lowercase hex MD5 of challenge + password: Kerio's X-MASTERAUTH answer.
std::string kerio_master_answer(std::string_view challenge, std::string_view password);

}  // namespace mailmig::imap
