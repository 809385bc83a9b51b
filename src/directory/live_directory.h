// A bound LDAP connection for directory changes: paged subtree searches that
// hand over a page of entries at a time, and one modify per entry. Connecting
// is the shared routine of provision/ldap/ldap_connection.h.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "directory/entry.h"
#include "provision/ldap/ldap_connection.h"

namespace mailmig::directory {

// The server went away (or never answered): the run stops; running the same
// command again continues, because every step is idempotent.
class ConnectionLost : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

class LiveDirectory {
 public:
  explicit LiveDirectory(const ldap::ConnectOptions& options);  // throws ldap::ConnectError
  LiveDirectory(const LiveDirectory&) = delete;
  LiveDirectory& operator=(const LiveDirectory&) = delete;
  ~LiveDirectory();

  // Every entry under base matching filter with its user attributes, in pages
  // (Simple Paged Results, RFC 2696). Throws std::runtime_error for a refused
  // search, ConnectionLost when the server is gone.
  void search(const std::string& base, const std::string& filter,
              const std::function<void(std::vector<Entry>&)>& on_page);

  // One LDAP modify; the LDAP result code (LDAP_SUCCESS = 0) and the server's
  // error text. Throws ConnectionLost when the server is gone.
  int modify(const ModifyRecord& change, std::string& error);

 private:
  std::string url_;
  LDAP* ld_ = nullptr;
};

// "(uid=s*)" stays, "uid=s*" gets its parentheses; AND of the parts.
std::string and_filter(const std::vector<std::string>& parts);
// (|(objectClass=a)(objectClass=b)) with the names escaped (ldap_bv2escaped_filter_value).
std::string any_class_filter(const std::vector<std::string>& classes);
std::string escape_filter_value(const std::string& value);

}  // namespace mailmig::directory
