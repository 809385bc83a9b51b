#include "core/password_info.h"

namespace mailmig {

const char* password_kind_name(PasswordInfo::Kind kind) {
  switch (kind) {
    case PasswordInfo::Kind::Plain:
      return "plain";
    case PasswordInfo::Kind::Encrypted:
      return "encrypted";
    case PasswordInfo::Kind::None:
      return "none";
  }
  return "none";
}

}  // namespace mailmig
