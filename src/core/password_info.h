// A password as a store keeps it: plain, encrypted (with its method tag when
// recognisable) or none. Sources read it; the password rules and the
// provisioners decide from it what a new user gets, so it lives below both.
#pragma once

#include <string>

namespace mailmig {

struct PasswordInfo {
  enum class Kind { None, Plain, Encrypted };
  Kind kind = Kind::None;
  std::string scheme;  // Encrypted: the method tag (e.g. "U-crpt", "{SHA}") when recognisable
  std::string value;   // Plain: the password; Encrypted: the stored form. A secret: never log it.
};
const char* password_kind_name(PasswordInfo::Kind kind);  // "plain" / "encrypted" / "none"

}  // namespace mailmig
