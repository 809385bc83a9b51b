#include "core/login_name.h"

namespace mailmig {

std::string format_login(const std::string& format, const std::string& account, const std::string& domain) {
  std::string out;
  for (std::size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%' || i + 1 == format.size()) {
      out += format[i];
      continue;
    }
    const char spec = format[++i];
    if (spec == 'u')
      out += account;
    else if (spec == 'd')
      out += domain;
    else if (spec == '%')
      out += '%';
    else {
      out += '%';
      out += spec;
    }
  }
  return out;
}

}  // namespace mailmig
