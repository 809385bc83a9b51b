#include "cli/source_spec.h"

#include <fmt/format.h>

#include "source/cgp/store.h"

namespace mailmig::cli {

OpenedSource open_source(const std::string& spec, const SourceOptions& options) {
  const auto colon = spec.find(':');
  if (colon == std::string::npos || colon == 0) {
    throw SpecError(fmt::format("source \"{}\" must be written scheme:location, e.g. cgp:/var/CommuniGate", spec));
  }
  const std::string scheme = spec.substr(0, colon);
  const std::string location = spec.substr(colon + 1);
  if (scheme == "cgp") {
    auto store = std::make_unique<cgp::Store>(location, cgp::StoreOptions{options.main_domain, options.allow_live});
    std::string description = fmt::format("CommuniGate Pro store {} (main domain {}, from {})", store->root(),
                                          store->main_domain(), store->main_domain_origin());
    return OpenedSource{std::move(store), std::move(description)};
  }
  throw SpecError(fmt::format("source scheme \"{}\" is not supported (supported: cgp)", scheme));
}

}  // namespace mailmig::cli
