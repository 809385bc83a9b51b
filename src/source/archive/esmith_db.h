// The e-smith configuration databases of SME Server / NethServer 6
// (home/e-smith/db/configuration, .../accounts): plain text, one record a
// line, "key=value" for a simple entry or "key=type|prop|value|prop|value..."
// for a complex one; '#' starts a comment line. A '|' inside a value is
// written "\|" and is not a separator.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace mailmig::archive {

struct EsmithRecord {
  std::string type;  // the value of a simple entry, the type of a complex one
  std::map<std::string, std::string> props;
};

using EsmithDb = std::map<std::string, EsmithRecord>;

EsmithDb parse_esmith_db(std::string_view text);

// The value of a simple entry, e.g. DomainName; nullopt when absent or empty.
std::optional<std::string> esmith_value(const EsmithDb& db, const std::string& key);

}  // namespace mailmig::archive
