#include "format/mbox/variants.h"

namespace mailmig::mbox {

std::optional<MboxFormat> parse_mbox_format(std::string_view name) {
  if (name == "auto") return MboxFormat::Auto;
  if (name == "mboxo") return MboxFormat::Mboxo;
  if (name == "mboxrd") return MboxFormat::Mboxrd;
  if (name == "mboxcl") return MboxFormat::Mboxcl;
  if (name == "mboxcl2") return MboxFormat::Mboxcl2;
  return std::nullopt;
}

const char* mbox_format_name(MboxFormat format) {
  switch (format) {
    case MboxFormat::Auto:
      return "auto";
    case MboxFormat::Mboxo:
      return "mboxo";
    case MboxFormat::Mboxrd:
      return "mboxrd";
    case MboxFormat::Mboxcl:
      return "mboxcl";
    case MboxFormat::Mboxcl2:
      return "mboxcl2";
  }
  return "auto";
}

ReadRules read_rules(MboxFormat format, bool managed) {
  switch (format) {
    case MboxFormat::Mboxo:
      return ReadRules{false, Unquote::One};
    case MboxFormat::Mboxrd:
      return ReadRules{false, Unquote::All};
    case MboxFormat::Mboxcl:
      return ReadRules{true, Unquote::One};
    case MboxFormat::Mboxcl2:
      return ReadRules{true, Unquote::None};
    case MboxFormat::Auto:
      break;
  }
  return managed ? ReadRules{true, Unquote::None} : ReadRules{true, Unquote::All};
}

}  // namespace mailmig::mbox
