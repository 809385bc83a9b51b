#include "provision/ldap/ldap_connection.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/time.h>

#include <algorithm>

#include "core/ascii.h"

namespace mailmig::ldap {

namespace {

constexpr int kNetworkTimeoutSeconds = 20;     // TCP connect (and TLS handshake)
constexpr int kOperationTimeoutSeconds = 120;  // each synchronous LDAP operation

// Owns the handle until it is bound and handed out.
class Handle {
 public:
  explicit Handle(const ConnectOptions& options) : options_(options) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() {
    if (ld_ != nullptr) ldap_unbind_ext_s(ld_, nullptr, nullptr);
  }

  LDAP* open(Tls tls) {
    if (const int rc = ldap_initialize(&ld_, options_.url.c_str()); rc != LDAP_SUCCESS || ld_ == nullptr) {
      ld_ = nullptr;
      throw ConnectError(fmt::format("LDAP {}: {}", options_.url, error_text(nullptr, rc)));
    }
    const int version = LDAP_VERSION3;
    set_option(LDAP_OPT_PROTOCOL_VERSION, &version, "protocol version 3");
    const timeval network_timeout{kNetworkTimeoutSeconds, 0};
    set_option(LDAP_OPT_NETWORK_TIMEOUT, &network_timeout, "the network timeout");
    const timeval timeout{kOperationTimeoutSeconds, 0};
    set_option(LDAP_OPT_TIMEOUT, &timeout, "the operation timeout");
    set_option(LDAP_OPT_REFERRALS, LDAP_OPT_OFF, "referrals off");
    if (tls != Tls::None) {
      if (!options_.ca_file.empty())
        set_option(LDAP_OPT_X_TLS_CACERTFILE, options_.ca_file.c_str(), "the CA file");
      const int require = options_.insecure ? LDAP_OPT_X_TLS_NEVER : LDAP_OPT_X_TLS_DEMAND;
      set_option(LDAP_OPT_X_TLS_REQUIRE_CERT, &require, "certificate checking");
      const int is_server = 0;
      set_option(LDAP_OPT_X_TLS_NEWCTX, &is_server, "a new TLS context");  // the options above take effect
    }
    if (tls == Tls::StartTls) {
      if (const int rc = ldap_start_tls_s(ld_, nullptr, nullptr); rc != LDAP_SUCCESS) {
        throw ConnectError(
            fmt::format("LDAP StartTLS with {} failed: {}", options_.url, error_text(ld_, rc)));
      }
    }
    std::string password =
        options_.bind_dn.empty() ? std::string() : options_.password;  // berval wants char*
    berval credentials{static_cast<ber_len_t>(password.size()), password.data()};
    const char* dn = options_.bind_dn.empty() ? nullptr : options_.bind_dn.c_str();
    if (const int rc = ldap_sasl_bind_s(ld_, dn, LDAP_SASL_SIMPLE, &credentials, nullptr, nullptr, nullptr);
        rc != LDAP_SUCCESS) {
      std::string why = error_text(ld_, rc);
      if (rc == LDAP_SERVER_DOWN && tls == Tls::Implicit && !options_.insecure &&
          handshake_without_checks()) {
        why =
            "the server's TLS certificate is not trusted (or names another host): give its CA with --ca-file";
      }
      throw ConnectError(
          options_.bind_dn.empty()
              ? fmt::format("LDAP anonymous bind at {} failed: {}", options_.url, why)
              : fmt::format("LDAP bind as {} at {} failed: {}", options_.bind_dn, options_.url, why));
    }
    LDAP* out = ld_;
    ld_ = nullptr;
    return out;
  }

 private:
  // libldap reports an ldaps:// certificate it refused like a server that is
  // down. This connects once more without checking the certificate, and
  // without binding (nothing is sent but the handshake), to tell them apart.
  [[nodiscard]] bool handshake_without_checks() const {
    LDAP* probe = nullptr;
    if (ldap_initialize(&probe, options_.url.c_str()) != LDAP_SUCCESS || probe == nullptr) return false;
    const int version = LDAP_VERSION3;
    const timeval network_timeout{kNetworkTimeoutSeconds, 0};
    const int never = LDAP_OPT_X_TLS_NEVER;
    const int is_server = 0;
    const bool connected =
        ldap_set_option(probe, LDAP_OPT_PROTOCOL_VERSION, &version) == LDAP_OPT_SUCCESS &&
        ldap_set_option(probe, LDAP_OPT_NETWORK_TIMEOUT, &network_timeout) == LDAP_OPT_SUCCESS &&
        ldap_set_option(probe, LDAP_OPT_X_TLS_REQUIRE_CERT, &never) == LDAP_OPT_SUCCESS &&
        ldap_set_option(probe, LDAP_OPT_X_TLS_NEWCTX, &is_server) == LDAP_OPT_SUCCESS &&
        ldap_connect(probe) == LDAP_SUCCESS;
    ldap_unbind_ext_s(probe, nullptr, nullptr);
    return connected;
  }

  void set_option(int option, const void* value, const char* name) {
    if (ldap_set_option(ld_, option, value) != LDAP_OPT_SUCCESS) {
      throw ConnectError(fmt::format("LDAP {}: cannot set {}", options_.url, name));
    }
  }

  const ConnectOptions& options_;
  LDAP* ld_ = nullptr;
};

}  // namespace

bool is_loopback_host(std::string host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  host = ascii_lower(host);
  if (host.empty() || host == "localhost" || host.ends_with(".localhost")) return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24U) == 127U;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6) || (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
  }
  return false;
}

std::optional<Tls> tls_for_url(const std::string& url) {
  LDAPURLDesc* parsed = nullptr;
  if (url.find_first_of(" \t,") != std::string::npos ||
      ldap_url_parse(url.c_str(), &parsed) != LDAP_URL_SUCCESS || parsed == nullptr) {
    if (parsed != nullptr) ldap_free_urldesc(parsed);
    return std::nullopt;
  }
  const std::string scheme = parsed->lud_scheme != nullptr ? ascii_lower(parsed->lud_scheme) : "";
  const std::string host = parsed->lud_host != nullptr ? parsed->lud_host : "";
  ldap_free_urldesc(parsed);
  if (scheme == "ldaps") return Tls::Implicit;
  if (scheme == "ldapi") return Tls::None;
  if (scheme == "ldap") return is_loopback_host(host) ? Tls::None : Tls::StartTls;
  return std::nullopt;
}

std::string error_text(LDAP* ld, int rc) {
  std::string text = fmt::format("{} ({})", ldap_err2string(rc), rc);
  char* diagnostic = nullptr;
  if (ld != nullptr && ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diagnostic) == LDAP_OPT_SUCCESS &&
      diagnostic != nullptr) {
    if (*diagnostic != '\0') text += fmt::format(": {}", diagnostic);
    ldap_memfree(diagnostic);
  }
  return text;
}

LDAP* connect_and_bind(const ConnectOptions& options) {
  const std::optional<Tls> tls = tls_for_url(options.url);
  if (!tls) {
    throw std::invalid_argument(fmt::format(
        "{}: expected one URL ldap://HOST[:PORT], ldaps://HOST[:PORT] or ldapi://PATH", options.url));
  }
  const Tls chosen =
      options.starttls && *tls == Tls::None && !options.url.starts_with("ldapi") ? Tls::StartTls : *tls;
  return Handle(options).open(chosen);
}

}  // namespace mailmig::ldap
