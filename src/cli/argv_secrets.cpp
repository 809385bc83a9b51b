#include "cli/argv_secrets.h"

#include <algorithm>
#include <cstring>

namespace mailmig::cli {
namespace {

std::string folded(std::string_view text, bool case_insensitive) {
  std::string out(text);
  if (case_insensitive) {
    std::transform(out.begin(), out.end(), out.begin(),
                   [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
  }
  return out;
}

}  // namespace

void scrub_argument(char* arg) {
  // Same length, so the other arguments keep their place in /proc/PID/cmdline.
  std::memset(arg, 'x', std::strlen(arg));
}

std::vector<std::string> scrub_secret_options(int argc, char** argv,
                                              std::span<const std::string_view> secret_options,
                                              bool case_insensitive) {
  std::vector<std::string> found;
  const auto note = [&](std::string_view name) {
    if (std::find(found.begin(), found.end(), name) == found.end()) found.emplace_back(name);
  };
  for (int i = 1; i < argc; ++i) {
    const std::string arg = folded(argv[i], case_insensitive);
    if (arg == "--") break;  // what follows is no option
    for (const std::string_view option : secret_options) {
      const std::string name = folded(option, case_insensitive);
      if (arg == name) {
        note(option);
        if (i + 1 < argc) scrub_argument(argv[++i]);
        break;
      }
      if (arg.size() > name.size() && arg.starts_with(name) && arg[name.size()] == '=') {
        note(option);
        scrub_argument(argv[i] + name.size() + 1);
        break;
      }
    }
  }
  return found;
}

void warn_secret_options(const std::vector<std::string>& found, std::string_view program, std::ostream& err) {
  for (const std::string& name : found) {
    err << program << ": warning: " << name
        << " on the command line can be read by other users of this machine (ps, /proc) and stays in the "
           "shell "
           "history; it was hidden from the process list once read, but prefer a machine without untrusted "
           "users\n";
  }
}

}  // namespace mailmig::cli
