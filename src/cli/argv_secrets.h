// Secrets given on the command line: every user of the machine can read a
// process's arguments (ps, /proc/PID/cmdline) for as long as it runs. The
// values are taken into the program's own strings first, then the argv bytes
// are overwritten so that the kernel shows "xxxx" instead, and the user is
// warned once per option. mailmig and cg2kms both go through here.
#pragma once

#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mailmig::cli {

// The secret options of mailmig's own command line.
inline constexpr std::string_view kMailmigSecretOptions[] = {"--set-password", "--force-set-password"};

// Overwrites one argument in place (the kernel's copy shown in /proc).
void scrub_argument(char* arg);

// Scrubs the value of every option in `secret_options`, written either
// "--opt VALUE" or "--opt=VALUE", in argv[1..argc). Call after the arguments
// were parsed into strings. Names are compared as given (`case_insensitive`
// and a single leading '-' for cg2kms's -password style). Returns the names
// found, each once, in the order met.
std::vector<std::string> scrub_secret_options(int argc, char** argv,
                                              std::span<const std::string_view> secret_options,
                                              bool case_insensitive = false);

// "warning: --set-password ..." for each name returned above.
void warn_secret_options(const std::vector<std::string>& found, std::string_view program, std::ostream& err);

}  // namespace mailmig::cli
