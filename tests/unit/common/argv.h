// argv as the kernel hands it to main(): writable C strings, so tests can see
// what a parser overwrites (secrets) in place.
#pragma once

#include <string>
#include <vector>

namespace mailmig::testing {

struct Argv {
  explicit Argv(std::vector<std::string> args) : storage(std::move(args)) {
    for (std::string& s : storage) pointers.push_back(s.data());
  }
  int argc() const { return static_cast<int>(pointers.size()); }
  char** argv() { return pointers.data(); }
  std::vector<std::string> storage;
  std::vector<char*> pointers;
};

}  // namespace mailmig::testing
