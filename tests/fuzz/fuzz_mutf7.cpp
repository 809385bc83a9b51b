// IMAP modified UTF-7 (src/codec/mutf7): never crashes, and round-trips
// exactly: decode(encode(x)) == x for valid UTF-8, encode(decode(y)) == y for
// valid (canonical) mUTF-7.
#include <cstdint>

#include "format/mutf7.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mailmig;
  const std::string_view input = fuzz::as_view(data, size);
  if (const std::optional<std::string> encoded = mutf7_encode(input)) {
    const std::optional<std::string> back = mutf7_decode(*encoded);
    fuzz::require(back.has_value(), "encode() output decodes");
    fuzz::require(*back == input, "decode(encode(x)) == x");
  }
  if (const std::optional<std::string> decoded = mutf7_decode(input)) {
    const std::optional<std::string> again = mutf7_encode(*decoded);
    fuzz::require(again.has_value(), "decode() output is valid UTF-8");
    fuzz::require(*again == input, "encode(decode(y)) == y");
  }
  return 0;
}
