#include "directory/live_directory.h"

#include <fmt/format.h>
#include <lber.h>
#include <ldap.h>

#include <memory>

namespace mailmig::directory {

namespace {

constexpr ber_int_t kPageSize = 500;

bool is_connection_gone(int rc) {
  return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT;
}

struct MessageFree {
  void operator()(LDAPMessage* m) const { ldap_msgfree(m); }
};

Entry read_entry(LDAP* ld, LDAPMessage* message) {
  Entry entry;
  char* dn = ldap_get_dn(ld, message);
  if (dn != nullptr) entry.dn = dn;
  ldap_memfree(dn);
  BerElement* ber = nullptr;
  for (char* name = ldap_first_attribute(ld, message, &ber); name != nullptr;
       name = ldap_next_attribute(ld, message, ber)) {
    Attribute attribute{name, {}};
    if (berval** values = ldap_get_values_len(ld, message, name)) {
      for (berval** v = values; *v != nullptr; ++v) attribute.values.emplace_back((*v)->bv_val, (*v)->bv_len);
      ldap_value_free_len(values);
    }
    entry.attributes.push_back(std::move(attribute));
    ldap_memfree(name);
  }
  if (ber != nullptr) ber_free(ber, 0);
  return entry;
}

}  // namespace

std::string escape_filter_value(const std::string& value) {
  berval in{static_cast<ber_len_t>(value.size()),
            const_cast<char*>(value.data())};  // NOLINT: libldap's API is not const
  berval out{};
  if (ldap_bv2escaped_filter_value(&in, &out) != 0) throw std::bad_alloc();
  std::string text(out.bv_val, out.bv_len);
  ber_memfree(out.bv_val);
  return text;
}

std::string and_filter(const std::vector<std::string>& parts) {
  std::vector<std::string> wrapped;
  for (const std::string& part : parts) {
    if (part.empty()) continue;
    wrapped.push_back(part.front() == '(' ? part : "(" + part + ")");
  }
  if (wrapped.empty()) return "(objectClass=*)";
  if (wrapped.size() == 1) return wrapped.front();
  std::string out = "(&";
  for (const auto& part : wrapped) out += part;
  return out + ")";
}

std::string any_class_filter(const std::vector<std::string>& classes) {
  if (classes.size() == 1) return "(objectClass=" + escape_filter_value(classes.front()) + ")";
  std::string out = "(|";
  for (const auto& name : classes) out += "(objectClass=" + escape_filter_value(name) + ")";
  return out + ")";
}

LiveDirectory::LiveDirectory(const ldap::ConnectOptions& options)
    : url_(options.url), ld_(ldap::connect_and_bind(options)) {}

LiveDirectory::~LiveDirectory() {
  if (ld_ != nullptr) ldap_unbind_ext_s(ld_, nullptr, nullptr);
}

void LiveDirectory::search(const std::string& base, const std::string& filter,
                           const std::function<void(std::vector<Entry>&)>& on_page) {
  berval cookie{};
  std::string cookie_copy;
  char attrs_all[] = "*";
  char* attrs[] = {attrs_all, nullptr};
  for (;;) {
    LDAPControl* page = nullptr;
    berval* cookie_arg = cookie_copy.empty() ? nullptr : &cookie;
    if (cookie_arg != nullptr) {
      cookie.bv_val = cookie_copy.data();
      cookie.bv_len = cookie_copy.size();
    }
    if (const int rc = ldap_create_page_control(ld_, kPageSize, cookie_arg, 1, &page); rc != LDAP_SUCCESS) {
      throw std::runtime_error(
          fmt::format("LDAP {}: cannot make the paged-results control: {}", url_, ldap::error_text(ld_, rc)));
    }
    LDAPControl* controls[] = {page, nullptr};
    LDAPMessage* raw = nullptr;
    const int rc = ldap_search_ext_s(ld_, base.c_str(), LDAP_SCOPE_SUBTREE, filter.c_str(), attrs, 0,
                                     controls, nullptr, nullptr, LDAP_NO_LIMIT, &raw);
    ldap_control_free(page);
    std::unique_ptr<LDAPMessage, MessageFree> result(raw);
    if (is_connection_gone(rc))
      throw ConnectionLost(fmt::format("LDAP {}: {}", url_, ldap::error_text(ld_, rc)));
    if (rc != LDAP_SUCCESS) {
      throw std::runtime_error(
          fmt::format("LDAP search under \"{}\" for {} failed: {}", base, filter, ldap::error_text(ld_, rc)));
    }
    std::vector<Entry> entries;
    LDAPControl** returned = nullptr;
    for (LDAPMessage* m = ldap_first_message(ld_, result.get()); m != nullptr;
         m = ldap_next_message(ld_, m)) {
      const int type = ldap_msgtype(m);
      if (type == LDAP_RES_SEARCH_ENTRY) {
        entries.push_back(read_entry(ld_, m));
      } else if (type == LDAP_RES_SEARCH_RESULT) {
        int code = LDAP_SUCCESS;
        char* text = nullptr;
        ldap_parse_result(ld_, m, &code, nullptr, &text, nullptr, &returned, 0);
        ldap_memfree(text);
        if (code != LDAP_SUCCESS) {
          if (returned != nullptr) ldap_controls_free(returned);
          throw std::runtime_error(fmt::format("LDAP search under \"{}\" for {} failed: {} ({})", base,
                                               filter, ldap_err2string(code), code));
        }
      }
    }
    cookie_copy.clear();
    if (returned != nullptr) {
      if (LDAPControl* response = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, returned, nullptr)) {
        ber_int_t estimate = 0;
        berval next{};
        if (ldap_parse_pageresponse_control(ld_, response, &estimate, &next) == LDAP_SUCCESS &&
            next.bv_val != nullptr) {
          cookie_copy.assign(next.bv_val, next.bv_len);
          ber_memfree(next.bv_val);
        }
      }
      ldap_controls_free(returned);
    }
    on_page(entries);
    if (cookie_copy.empty()) return;
  }
}

int LiveDirectory::modify(const ModifyRecord& change, std::string& error) {
  // LDAPMod wants mutable arrays of berval pointers: built from the record's strings.
  std::vector<LDAPMod> mods(change.mods.size());
  std::vector<std::vector<berval>> values(change.mods.size());
  std::vector<std::vector<berval*>> pointers(change.mods.size());
  std::vector<std::string> names;
  names.reserve(change.mods.size());
  std::vector<LDAPMod*> list;
  for (std::size_t i = 0; i < change.mods.size(); ++i) {
    const Modification& mod = change.mods[i];
    names.push_back(mod.attribute);
    for (const std::string& v : mod.values) {
      values[i].push_back(
          berval{static_cast<ber_len_t>(v.size()), const_cast<char*>(v.data())});  // NOLINT: read only
    }
    for (berval& v : values[i]) pointers[i].push_back(&v);
    pointers[i].push_back(nullptr);
    const int op = mod.op == ModOp::Add      ? LDAP_MOD_ADD
                   : mod.op == ModOp::Delete ? LDAP_MOD_DELETE
                                             : LDAP_MOD_REPLACE;
    mods[i].mod_op = op | LDAP_MOD_BVALUES;
    mods[i].mod_type = names.back().data();
    mods[i].mod_bvalues = mod.values.empty() ? nullptr : pointers[i].data();
    list.push_back(&mods[i]);
  }
  list.push_back(nullptr);
  const int rc = ldap_modify_ext_s(ld_, change.dn.c_str(), list.data(), nullptr, nullptr);
  if (is_connection_gone(rc))
    throw ConnectionLost(fmt::format("LDAP {}: {}", url_, ldap::error_text(ld_, rc)));
  error = rc == LDAP_SUCCESS ? std::string() : ldap::error_text(ld_, rc);
  return rc;
}

}  // namespace mailmig::directory
