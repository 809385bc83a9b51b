// "scheme:location" source specifications (cgp:/var/CommuniGate, ...).
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include "source/source.h"

namespace mailmig::cli {

struct SourceOptions {
  std::string main_domain;  // CommuniGate: name of the Accounts/ domain
  bool allow_live = false;  // CommuniGate: read a store whose server is running
};

class SpecError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct OpenedSource {
  std::unique_ptr<Source> source;
  std::string description;  // one line for people: what was opened and how it was understood
};

// Throws SpecError for an unknown scheme, cgp::StoreError when the store cannot be used.
OpenedSource open_source(const std::string& spec, const SourceOptions& options);

}  // namespace mailmig::cli
