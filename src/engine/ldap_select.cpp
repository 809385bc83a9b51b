// ldap_select (declared in selection.h): the iPlanet way of choosing a batch,
// a directory filter, with OpenLDAP's libldap. Connection rules follow the
// LDAP provisioner: ldaps:// is TLS, ldap:// to anything but loopback must
// StartTLS, certificates are checked unless --ldap-insecure.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <lber.h>
#include <ldap.h>
#include <netinet/in.h>
#include <sys/time.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>

#include "engine/selection.h"

namespace mailmig {

namespace {

constexpr int kNetworkTimeoutSeconds = 20;
constexpr int kOperationTimeoutSeconds = 120;
// Entries per page (RFC 2696): below slapd's default size limit of 500, so a
// directory of any size is read completely without raising its limits.
constexpr ber_int_t kPageSize = 200;

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

bool is_loopback_host(std::string host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  host = lower(host);
  if (host.empty() || host == "localhost" || host.ends_with(".localhost")) return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24U) == 127U;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6) || (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
  }
  return false;
}

enum class Tls { None, StartTls, Implicit };

class Directory {
 public:
  explicit Directory(const LdapQuery& query) : query_(query), where_(fmt::format("LDAP {}", query.url)) {}
  Directory(const Directory&) = delete;
  Directory& operator=(const Directory&) = delete;
  ~Directory() {
    if (ld_ != nullptr) ldap_unbind_ext_s(ld_, nullptr, nullptr);
  }

  void connect() {
    const Tls tls = tls_mode();
    if (const int rc = ldap_initialize(&ld_, query_.url.c_str()); rc != LDAP_SUCCESS || ld_ == nullptr) {
      ld_ = nullptr;
      fail("cannot use the URL", rc);
    }
    const int version = LDAP_VERSION3;
    set_option(LDAP_OPT_PROTOCOL_VERSION, &version, "protocol version 3");
    const timeval network_timeout{kNetworkTimeoutSeconds, 0};
    set_option(LDAP_OPT_NETWORK_TIMEOUT, &network_timeout, "the network timeout");
    const timeval timeout{kOperationTimeoutSeconds, 0};
    set_option(LDAP_OPT_TIMEOUT, &timeout, "the operation timeout");
    set_option(LDAP_OPT_REFERRALS, LDAP_OPT_OFF, "referrals off");
    if (tls != Tls::None) {
      if (!query_.ca_file.empty())
        set_option(LDAP_OPT_X_TLS_CACERTFILE, query_.ca_file.c_str(), "the CA file");
      const int require = query_.insecure ? LDAP_OPT_X_TLS_NEVER : LDAP_OPT_X_TLS_DEMAND;
      set_option(LDAP_OPT_X_TLS_REQUIRE_CERT, &require, "certificate checking");
      const int is_server = 0;
      set_option(LDAP_OPT_X_TLS_NEWCTX, &is_server, "a new TLS context");
    }
    if (tls == Tls::StartTls) {
      if (const int rc = ldap_start_tls_s(ld_, nullptr, nullptr); rc != LDAP_SUCCESS)
        fail("StartTLS failed", rc);
    }
    // An empty bind DN with an empty password is the anonymous simple bind.
    std::string password = query_.bind_dn.empty() ? std::string() : query_.password;
    berval credentials{static_cast<ber_len_t>(password.size()), password.data()};
    const int rc = ldap_sasl_bind_s(ld_, query_.bind_dn.empty() ? nullptr : query_.bind_dn.c_str(),
                                    LDAP_SASL_SIMPLE, &credentials, nullptr, nullptr, nullptr);
    if (rc != LDAP_SUCCESS) {
      fail(query_.bind_dn.empty() ? std::string("anonymous bind failed")
                                  : fmt::format("bind as {} failed", query_.bind_dn),
           rc);
    }
  }

  // Every page of the subtree search; values of the attribute and of mail.
  std::set<std::string> search() {
    std::set<std::string> values;
    std::string attribute = query_.attribute;
    std::string mail = "mail";
    std::array<char*, 3> attrs{attribute.data(), mail.data(), nullptr};
    berval cookie{0, nullptr};
    std::unique_ptr<berval, decltype(&ber_bvfree)> next_cookie(nullptr, &ber_bvfree);
    do {
      LDAPControl* page = nullptr;
      if (const int rc = ldap_create_page_control(ld_, kPageSize, &cookie, 0, &page); rc != LDAP_SUCCESS) {
        fail("cannot make a paged-results control", rc);
      }
      std::unique_ptr<LDAPControl, decltype(&ldap_control_free)> page_owner(page, &ldap_control_free);
      std::array<LDAPControl*, 2> controls{page, nullptr};
      LDAPMessage* raw = nullptr;
      const int rc =
          ldap_search_ext_s(ld_, query_.base.c_str(), LDAP_SCOPE_SUBTREE, query_.filter.c_str(), attrs.data(),
                            0, controls.data(), nullptr, nullptr, LDAP_NO_LIMIT, &raw);
      std::unique_ptr<LDAPMessage, decltype(&ldap_msgfree)> result(raw, &ldap_msgfree);
      // A partial answer would silently shrink the batch: every error is fatal,
      // the size limit (a server that ignores paging) included.
      if (rc != LDAP_SUCCESS) fail("search failed", rc);
      collect(result.get(), values);
      next_cookie = next_page(result.get());
      cookie = next_cookie ? *next_cookie : berval{0, nullptr};
    } while (cookie.bv_len > 0);
    return values;
  }

 private:
  Tls tls_mode() const {
    LDAPURLDesc* parsed = nullptr;
    if (query_.url.find_first_of(" \t,") != std::string::npos ||
        ldap_url_parse(query_.url.c_str(), &parsed) != LDAP_URL_SUCCESS || parsed == nullptr) {
      if (parsed != nullptr) ldap_free_urldesc(parsed);
      throw SelectionError(fmt::format(
          "--ldap-url {}: expected one URL ldap://HOST[:PORT], ldaps://HOST[:PORT] or ldapi://PATH",
          query_.url));
    }
    const std::string scheme = parsed->lud_scheme != nullptr ? lower(parsed->lud_scheme) : "";
    const std::string host = parsed->lud_host != nullptr ? parsed->lud_host : "";
    ldap_free_urldesc(parsed);
    if (scheme == "ldaps") return Tls::Implicit;
    if (scheme == "ldapi") return Tls::None;
    if (scheme == "ldap") return is_loopback_host(host) ? Tls::None : Tls::StartTls;
    throw SelectionError(fmt::format("--ldap-url {}: the scheme must be ldap, ldaps or ldapi", query_.url));
  }

  void collect(LDAPMessage* result, std::set<std::string>& values) const {
    for (LDAPMessage* entry = ldap_first_entry(ld_, result); entry != nullptr;
         entry = ldap_next_entry(ld_, entry)) {
      for (const std::string& name : {query_.attribute, std::string("mail")}) {
        berval** found = ldap_get_values_len(ld_, entry, name.c_str());
        if (found == nullptr) continue;
        for (berval** value = found; *value != nullptr; ++value) {
          if ((*value)->bv_len > 0) values.insert(lower(std::string((*value)->bv_val, (*value)->bv_len)));
        }
        ldap_value_free_len(found);
      }
    }
  }

  // The cookie for the next page; null when this was the last one (or the
  // server answered everything at once, not knowing the control).
  std::unique_ptr<berval, decltype(&ber_bvfree)> next_page(LDAPMessage* result) {
    LDAPControl** returned = nullptr;
    int code = LDAP_SUCCESS;
    if (const int rc = ldap_parse_result(ld_, result, &code, nullptr, nullptr, nullptr, &returned, 0);
        rc != LDAP_SUCCESS) {
      fail("cannot read the search result", rc);
    }
    std::unique_ptr<LDAPControl*, decltype(&ldap_controls_free)> owner(returned, &ldap_controls_free);
    if (code != LDAP_SUCCESS) fail("search failed", code);
    std::unique_ptr<berval, decltype(&ber_bvfree)> next(nullptr, &ber_bvfree);
    LDAPControl* page =
        returned != nullptr ? ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, returned, nullptr) : nullptr;
    if (page == nullptr) return next;
    ber_int_t estimate = 0;
    berval cookie{0, nullptr};
    if (const int rc = ldap_parse_pageresponse_control(ld_, page, &estimate, &cookie); rc != LDAP_SUCCESS) {
      fail("cannot read the paged-results answer", rc);
    }
    if (cookie.bv_len == 0) {
      ber_memfree(cookie.bv_val);
      return next;
    }
    next.reset(ber_bvdup(&cookie));
    ber_memfree(cookie.bv_val);
    return next;
  }

  void set_option(int option, const void* value, const char* name) {
    if (ldap_set_option(ld_, option, value) != LDAP_OPT_SUCCESS) {
      throw std::runtime_error(fmt::format("{}: cannot set {}", where_, name));
    }
  }

  // "LDAP ldap://host/ (base ..., filter ...): search failed: Size limit exceeded (4): ..."
  [[noreturn]] void fail(const std::string& what, int rc) const {
    std::string text = fmt::format("{} ({})", ldap_err2string(rc), rc);
    char* diagnostic = nullptr;
    if (ld_ != nullptr &&
        ldap_get_option(ld_, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diagnostic) == LDAP_OPT_SUCCESS &&
        diagnostic != nullptr) {
      if (*diagnostic != '\0') text += fmt::format(": {}", diagnostic);
      ldap_memfree(diagnostic);
    }
    throw std::runtime_error(
        fmt::format("{} (base {}, filter {}): {}: {}", where_, query_.base, query_.filter, what, text));
  }

  const LdapQuery& query_;
  const std::string where_;
  LDAP* ld_ = nullptr;
};

}  // namespace

std::set<std::string> ldap_select(const LdapQuery& query) {
  if (query.url.empty() || query.base.empty() || query.filter.empty()) {
    throw SelectionError("--ldap-filter needs --ldap-url and --ldap-search-base");
  }
  if (query.attribute.empty()) throw SelectionError("--ldap-attribute must not be empty");
  Directory directory(query);
  directory.connect();
  return directory.search();
}

}  // namespace mailmig
