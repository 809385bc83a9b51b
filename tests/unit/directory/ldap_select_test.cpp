#include "directory/ldap_select.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace mailmig::directory {
namespace {

TEST(LdapSelect, RefusesIncompleteQueriesAndBadUrls) {
  EXPECT_THROW(ldap_select(LdapQuery{.url = "ldap://127.0.0.1", .filter = "(uid=*)"}), std::invalid_argument);
  EXPECT_THROW(ldap_select(LdapQuery{.url = "http://x", .base = "dc=x", .filter = "(uid=*)"}),
               std::invalid_argument);
  // Nothing listens on port 1: the error names URL, base and filter, never a password.
  try {
    ldap_select(LdapQuery{.url = "ldap://127.0.0.1:1",
                          .base = "ou=people,dc=x",
                          .filter = "(uid=s*)",
                          .bind_dn = "cn=admin",
                          .password = "Secret#1"});
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    const std::string text = e.what();
    EXPECT_NE(text.find("ldap://127.0.0.1:1"), std::string::npos) << text;
    EXPECT_NE(text.find("ou=people,dc=x"), std::string::npos) << text;
    EXPECT_NE(text.find("(uid=s*)"), std::string::npos) << text;
    EXPECT_EQ(text.find("Secret#1"), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace mailmig::directory
