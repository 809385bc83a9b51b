// The `key = value` configuration files of the takeover (src/config/
// config_file): parse + serialize is the identity on any bytes (the format
// promises byte-identical rewrites); set() makes its value the one in effect
// and changes nothing else that was in effect; mask_secrets never leaves a
// secret directive's value.
#include <cstdint>
#include <string>

#include "config/config_file.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mailmig;
  const std::string_view text = fuzz::as_view(data, size);
  config::ConfigFile file = config::ConfigFile::parse(text);
  fuzz::require(file.serialize() == text, "parse + serialize is byte-identical");

  const std::vector<std::string> keys = file.keys();
  for (const std::string& key : keys) {
    fuzz::require(file.value(key).has_value(), "every listed key has a value");
    fuzz::require(file.line_number(key).has_value(), "every listed key has a line");
  }

  // Set one key (the first one, or a new one) and check the rest stays.
  const std::string key = keys.empty() ? std::string("fuzz_new_key") : keys.front();
  const std::string value = "fuzz value";
  config::ConfigFile changed = file;
  changed.set(key, value, "set by the fuzzer");
  fuzz::require(changed.value(key) == value, "set() makes its value the one in effect");
  const config::ConfigFile reread = config::ConfigFile::parse(changed.serialize());
  fuzz::require(reread.value(key) == value, "the value set is in effect after writing and reading");
  for (const std::string& other : keys) {
    if (other != key) fuzz::require(reread.value(other) == file.value(other), "set() leaves other keys");
  }

  const config::ConfigFile masked = config::ConfigFile::parse(config::mask_secrets(text));
  for (const config::ConfigLine& line : masked.lines()) {
    if ((line.kind == config::LineKind::Directive || line.kind == config::LineKind::CommentedDirective) &&
        config::is_secret_key(line.key))
      fuzz::require(line.value.empty() || line.value == "********", "mask_secrets hides every secret value");
  }
  return 0;
}
