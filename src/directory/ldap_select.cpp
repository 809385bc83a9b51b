// The iPlanet way of choosing a batch, a directory filter, with OpenLDAP's
// libldap, connected the way the LDAP provisioner connects
// (provision/ldap/ldap_connection.h).
#include "directory/ldap_select.h"

#include <fmt/format.h>
#include <lber.h>
#include <ldap.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>

#include "core/ascii.h"
#include "core/retry_policy.h"
#include "provision/ldap/ldap_connection.h"

namespace mailmig::directory {

namespace {

// Entries per page (RFC 2696): below slapd's default size limit of 500, so a
// directory of any size is read completely without raising its limits.
constexpr ber_int_t kPageSize = 200;

// A search cut by the network (connection reset, server gone, timeout, busy)
// is read again from the start, as the one retry policy says (two retries,
// 1 s then 2 s): what a cut search returned so far is dropped, never taken as
// the selection.
const RetryPolicy kSearchRetries{.attempts = 2, .backoff = std::chrono::seconds(1), .sleep = {}};

bool transient(int rc) {
  return rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT || rc == LDAP_CONNECT_ERROR || rc == LDAP_UNAVAILABLE ||
         rc == LDAP_BUSY;
}

class TransientSearchError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Searcher {
 public:
  explicit Searcher(const LdapQuery& query) : query_(query), where_(fmt::format("LDAP {}", query.url)) {}
  Searcher(const Searcher&) = delete;
  Searcher& operator=(const Searcher&) = delete;
  ~Searcher() {
    if (ld_ != nullptr) ldap_unbind_ext_s(ld_, nullptr, nullptr);
  }

  void connect() {
    if (!ldap::tls_for_url(query_.url)) {
      throw std::invalid_argument(fmt::format(
          "--ldap-url {}: expected one URL ldap://HOST[:PORT], ldaps://HOST[:PORT] or ldapi://PATH",
          query_.url));
    }
    try {
      ld_ = ldap::connect_and_bind(ldap::ConnectOptions{.url = query_.url,
                                                        .bind_dn = query_.bind_dn,
                                                        .password = query_.password,
                                                        .ca_file = query_.ca_file,
                                                        .insecure = query_.insecure});
    } catch (const ldap::ConnectError& e) {
      throw std::runtime_error(fmt::format("{} (base {}, filter {})", e.what(), query_.base, query_.filter));
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
  void collect(LDAPMessage* result, std::set<std::string>& values) const {
    for (LDAPMessage* entry = ldap_first_entry(ld_, result); entry != nullptr;
         entry = ldap_next_entry(ld_, entry)) {
      for (const std::string& name : {query_.attribute, std::string("mail")}) {
        berval** found = ldap_get_values_len(ld_, entry, name.c_str());
        if (found == nullptr) continue;
        for (berval** value = found; *value != nullptr; ++value) {
          if ((*value)->bv_len > 0)
            values.insert(ascii_lower(std::string((*value)->bv_val, (*value)->bv_len)));
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

  // "LDAP ldap://host/ (base ..., filter ...): search failed: Size limit exceeded (4): ..."
  [[noreturn]] void fail(const std::string& what, int rc) const {
    std::string text = fmt::format("{} (base {}, filter {}): {}: {}", where_, query_.base, query_.filter,
                                   what, ldap::error_text(ld_, rc));
    if (transient(rc)) throw TransientSearchError(text);
    throw std::runtime_error(text);
  }

  const LdapQuery& query_;
  const std::string where_;
  LDAP* ld_ = nullptr;
};

}  // namespace

std::set<std::string> ldap_select(const LdapQuery& query) {
  if (query.url.empty() || query.base.empty() || query.filter.empty()) {
    throw std::invalid_argument("--ldap-filter needs --ldap-url and --ldap-search-base");
  }
  if (query.attribute.empty()) throw std::invalid_argument("--ldap-attribute must not be empty");
  Retries retries(kSearchRetries);
  for (;;) {
    try {
      Searcher searcher(query);
      searcher.connect();
      return searcher.search();
    } catch (const TransientSearchError& e) {
      const auto wait = retries.after_failure();
      if (!wait) {
        throw std::runtime_error(fmt::format("{} (gave up after {} attempts)", e.what(), retries.failures()));
      }
      spdlog::warn("{}; searching again in {} s (attempt {} of {})", e.what(),
                   std::chrono::duration_cast<std::chrono::seconds>(*wait).count(), retries.failures() + 1,
                   kSearchRetries.attempts + 1);
      retries.wait(*wait);
    }
  }
}

}  // namespace mailmig::directory
