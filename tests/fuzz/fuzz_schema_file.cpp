// OpenLDAP schema files (src/directory/schema_file): any text gives a
// SchemaFile or a SchemaError "ORIGIN:LINE: ..." naming a line of the text;
// every item found is on a line of the text and is found again by each of
// its names.
#include <algorithm>
#include <cstdint>
#include <string>

#include "directory/schema_file.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mailmig;
  const std::string_view text = fuzz::as_view(data, size);
  const auto lines = static_cast<unsigned long>(std::count(text.begin(), text.end(), '\n') + 1);
  directory::SchemaFile schema;
  try {
    schema = directory::parse_schema_text(text, "fuzz");
  } catch (const directory::SchemaError& e) {
    const std::string_view what = e.what();
    fuzz::require(what.starts_with("fuzz:"), "a SchemaError names the origin");
    const unsigned long line = std::strtoul(std::string(what.substr(5)).c_str(), nullptr, 10);
    fuzz::require(line >= 1 && line <= lines, "a SchemaError names a line of the text");
    return 0;
  }
  for (const auto& item : schema.attribute_types) {
    fuzz::require(item.line >= 1 && item.line <= lines, "an attribute type is on a line of the text");
    for (const std::string& name : item.names)
      fuzz::require(schema.has_attribute(name), "an attribute type is found by each of its names");
  }
  for (const auto& item : schema.object_classes) {
    fuzz::require(item.line >= 1 && item.line <= lines, "an object class is on a line of the text");
    for (const std::string& name : item.names)
      fuzz::require(schema.has_class(name), "an object class is found by each of its names");
  }
  (void)schema.attribute_names();
  return 0;
}

// libldap 2.5 itself leaks a few bytes when ldap_str2attributetype() gives up
// on some malformed definitions (reproduced with a plain C program calling it
// on "(SYNTAX 1.''"); its allocations come from liblber. Ours are freed
// (ldap_attributetype_free / ldap_objectclass_free); a leak of our own that
// is not allocated in liblber is still reported.
extern "C" const char* __lsan_default_suppressions() {  // NOLINT(bugprone-reserved-identifier)
  return "leak:liblber\n";
}
