#include "imap/login.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <array>
#include <charconv>
#include <stdexcept>

#include "core/login_name.h"

namespace mailmig::imap {

namespace {

std::string base64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// Scrubs a string holding a secret before its memory is released.
struct SecretString {
  std::string value;
  ~SecretString() { std::fill(value.begin(), value.end(), '\0'); }
};

void login_plain(Session& session, const std::string& authzid, const std::string& authcid,
                 const std::string& password) {
  SecretString message{authzid + '\0' + authcid + '\0' + password};
  SecretString encoded{base64(message.value)};
  Tag tag = 0;
  if (session.has_capability("SASL-IR")) {
    // RFC 4959: the initial response rides on the command, saving a round trip.
    Command command("AUTHENTICATE PLAIN");
    command.secret_atom(encoded.value);
    tag = session.send(command);
  } else {
    tag = session.send(Command("AUTHENTICATE PLAIN"));
    if (session.wait_continuation(tag)) session.send_continuation(encoded.value, true);
  }
  CommandResult result = session.wait(tag);
  if (!result.ok()) {
    throw AuthError(fmt::format("AUTHENTICATE PLAIN as {}{} refused: {}", authcid,
                                authzid.empty() ? "" : " for " + authzid, result.describe()));
  }
}

void login_login(Session& session, const std::string& user, const std::string& password) {
  if (session.has_capability("LOGINDISABLED")) {
    throw AuthError("the server disables LOGIN on this connection (LOGINDISABLED); use TLS");
  }
  Command command("LOGIN");
  command.astring(user).string(password, false, true);
  CommandResult result = session.run(command);
  if (!result.ok()) throw AuthError(fmt::format("LOGIN as {} refused: {}", user, result.describe()));
}

void login_kerio(Session& session, const std::string& user, const std::string& master_password) {
  const Tag tag = session.send(Command("X-MASTERAUTH"));
  auto challenge = session.wait_continuation(tag);
  if (!challenge) {
    CommandResult refused = session.wait(tag);
    throw AuthError(
        fmt::format("X-MASTERAUTH refused: {} (is master authentication enabled in Kerio Connect "
                    "for this client's IP address group?)",
                    refused.describe()));
  }
  SecretString answer{kerio_master_answer(*challenge, master_password)};
  session.send_continuation(answer.value, true);
  CommandResult result = session.wait(tag);
  if (!result.ok()) {
    throw AuthError(
        fmt::format("X-MASTERAUTH failed: {} (wrong master password, or this IP address is not in the "
                    "group allowed to use master authentication)",
                    result.describe()));
  }
  Command setuser("X-SETUSER");
  setuser.string(user);
  CommandResult set = session.run(setuser);
  if (!set.ok()) throw AuthError(fmt::format("X-SETUSER {} refused: {}", user, set.describe()));
}

}  // namespace

std::string kerio_master_answer(std::string_view challenge, std::string_view password) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  std::string input;
  input.reserve(challenge.size() + password.size());
  input.append(challenge).append(password);
  EVP_Digest(input.data(), input.size(), digest.data(), &len, EVP_md5(), nullptr);
  std::fill(input.begin(), input.end(), '\0');
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[digest[i] >> 4U];
    out += kHex[digest[i] & 0x0FU];
  }
  return out;
}

ServerUrl parse_server_url(const std::string& url) {
  ServerUrl out;
  std::string rest;
  if (url.starts_with("imap://")) {
    rest = url.substr(7);
  } else if (url.starts_with("imaps://")) {
    rest = url.substr(8);
    out.implicit_tls = true;
    out.port = 993;
  } else {
    throw std::invalid_argument(
        fmt::format("target \"{}\" must be imap://HOST[:PORT] or imaps://HOST[:PORT]", url));
  }
  if (auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  std::string port_text;
  if (rest.starts_with('[')) {
    const auto close = rest.find(']');
    if (close == std::string::npos)
      throw std::invalid_argument(fmt::format("\"{}\": unclosed [ in host", url));
    out.host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') throw std::invalid_argument(fmt::format("\"{}\": junk after ]", url));
      port_text = rest.substr(close + 2);
    }
  } else if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    out.host = rest.substr(0, colon);
    port_text = rest.substr(colon + 1);
  } else {
    out.host = rest;
  }
  if (out.host.empty()) throw std::invalid_argument(fmt::format("\"{}\": no host", url));
  if (!port_text.empty()) {
    unsigned port = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port == 0 || port > 65535) {
      throw std::invalid_argument(fmt::format("\"{}\": bad port \"{}\"", url, port_text));
    }
    out.port = static_cast<std::uint16_t>(port);
  }
  return out;
}

std::string format_server_url(const ServerUrl& url, const std::string& user) {
  return fmt::format("{}://{}{}{}:{}", url.implicit_tls ? "imaps" : "imap", user, user.empty() ? "" : "@",
                     url.host, url.port);
}

Credentials ServerLogin::credentials_for(const std::string& account, const std::string& domain,
                                         const std::string& owner_password) const {
  return Credentials{.method = auth,
                     .user = format_login(login_format, account, domain),
                     .password = auth == AuthMethod::User ? owner_password : master_password,
                     .master_user = master_user,
                     .master_separator = master_separator};
}

AuthMethod parse_auth_method(const std::string& name) {
  if (name == "user") return AuthMethod::User;
  if (name == "dovecot-master") return AuthMethod::DovecotMaster;
  if (name == "sasl-authzid") return AuthMethod::SaslAuthzid;
  if (name == "kerio-master") return AuthMethod::KerioMaster;
  throw std::invalid_argument(
      fmt::format("--auth {}: expected user, dovecot-master, sasl-authzid or kerio-master", name));
}

const char* auth_method_name(AuthMethod method) {
  switch (method) {
    case AuthMethod::User:
      return "user";
    case AuthMethod::DovecotMaster:
      return "dovecot-master";
    case AuthMethod::SaslAuthzid:
      return "sasl-authzid";
    case AuthMethod::KerioMaster:
      return "kerio-master";
  }
  return "user";
}

std::unique_ptr<Session> open_session(const ConnectOptions& options, const Credentials& credentials) {
  auto transport = Transport::connect(options.server.host, options.server.port, options.connect_timeout);
  if (options.server.implicit_tls) {
    TlsOptions tls = options.tls;
    if (tls.server_name.empty()) tls.server_name = options.server.host;
    transport->start_tls(tls);
  }
  return log_in(std::move(transport), options, credentials);
}

std::unique_ptr<Session> log_in(std::unique_ptr<Transport> transport, const ConnectOptions& options,
                                const Credentials& credentials) {
  auto session =
      std::make_unique<Session>(std::move(transport), Session::Options{options.timeout, options.trace});
  session->read_greeting();
  if (!session->preauthenticated()) {
    session->refresh_capabilities();
    if (!session->transport().is_tls() && session->has_capability("STARTTLS")) {
      TlsOptions tls = options.tls;
      if (tls.server_name.empty()) tls.server_name = options.server.host;
      session->starttls(tls);
    }
    if (!session->transport().is_tls() && !session->transport().peer_is_loopback() &&
        !options.allow_plaintext) {
      throw AuthError(fmt::format(
          "{} offers no TLS (no STARTTLS); refusing to send credentials in clear text. Use imaps://, or "
          "--allow-plaintext if the network is trusted",
          session->peer()));
    }
    session->mark_capabilities_stale();  // a login changes them; the OK may carry the new set
    switch (credentials.method) {
      case AuthMethod::User:
        login_login(*session, credentials.user, credentials.password);
        break;
      case AuthMethod::DovecotMaster:
        login_login(*session, credentials.user + credentials.master_separator + credentials.master_user,
                    credentials.password);
        break;
      case AuthMethod::SaslAuthzid:
        login_plain(*session, credentials.user, credentials.master_user, credentials.password);
        break;
      case AuthMethod::KerioMaster:
        login_kerio(*session, credentials.user, credentials.password);
        break;
    }
  }
  // Capabilities change after login; the OK may have carried them already.
  session->refresh_capabilities();
  if (session->has_capability("UTF8=ACCEPT") || session->has_capability("UTF8=ONLY")) {
    Command enable("ENABLE");
    enable.atom("UTF8=ACCEPT");
    if (session->run(enable).ok()) session->set_utf8_enabled(true);
  }
  return session;
}

}  // namespace mailmig::imap
