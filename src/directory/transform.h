// Applies a rule set: the offline rewrite of LDIF records (attribute types in
// lines, in modify specs and in the DN, objectClass values, value rewrites,
// drops) and the desired state of a live entry for transplant/modify/upgrade.
#pragma once

#include <string>
#include <vector>

#include "directory/entry.h"
#include "directory/ldif.h"
#include "directory/rules.h"
#include "directory/schema_file.h"
#include "directory/set_spec.h"

namespace mailmig::directory {

// old_schema: when given, only attribute types and classes it defines are
// renamed (transplant: "attribute names come from the old schema file").
LdifRecord transform_record(const LdifRecord& record, const RuleSet& rules,
                            const SchemaFile* old_schema = nullptr);
Entry transform_entry(const Entry& entry, const RuleSet& rules, const SchemaFile* old_schema = nullptr);
// Attribute types in the DN renamed; the DN text is kept byte for byte when none is.
std::string transform_dn(const std::string& dn, const RuleSet& rules, const SchemaFile* old_schema = nullptr);

// modify: the values of `sets` added (kept: existing values), or with
// overwrite the named attributes replaced by exactly those values.
Entry apply_sets(const Entry& entry, const std::vector<SetPair>& sets, bool overwrite);

struct UpgradeResult {
  Entry desired;
  std::vector<std::string> notes;  // what could not be mapped
};
// upgrade: the scope's object classes added, mapped attributes copied to
// their new names (moved unless preserve), then the sets applied.
UpgradeResult plan_upgrade(const Entry& entry, const ScopeUpgrade& scope, const std::vector<SetPair>& sets,
                           bool overwrite, bool preserve);

}  // namespace mailmig::directory
