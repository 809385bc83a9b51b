// The e-smith configuration databases read from SME Server / NethServer
// archives (src/source/archive/esmith_db): any text parses without crashing.
#include <cstdint>

#include "fuzz_support.h"
#include "source/archive/esmith_db.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mailmig;
  const archive::EsmithDb db = archive::parse_esmith_db(fuzz::as_view(data, size));
  for (const auto& [key, record] : db) {
    (void)archive::esmith_value(db, key);
    fuzz::require(!key.empty(), "no record has an empty key");
  }
  (void)archive::esmith_value(db, "DomainName");
  return 0;
}
