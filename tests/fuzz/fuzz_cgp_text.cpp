// CommuniGate settings/dictionary text objects (src/codec/cgp_text): any byte
// string either parses or throws ParseError with a position inside the text;
// and what the settings interpreters then read from a parsed value never
// crashes.
#include <cstdint>

#include "format/cgp/cgp_text.h"
#include "fuzz_support.h"
#include "source/cgp/settings.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mailmig;
  const std::string_view text = fuzz::as_view(data, size);
  try {
    const cgp::Value value = cgp::parse(text);
    (void)cgp::interpret_password(value.find("Password"));
    (void)cgp::interpret_account_settings(value);
    (void)cgp::interpret_account_info(value);
    (void)cgp::main_domain_name(value);
    (void)cgp::domain_aliases(value);
  } catch (const cgp::ParseError& e) {
    fuzz::require(e.line() >= 1 && e.column() >= 1, "a ParseError has a 1-based position");
  }
  return 0;
}
