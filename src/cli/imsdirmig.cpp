#include "cli/imsdirmig.h"

#include <fmt/format.h>

#include <iostream>

#include "cli/argv_secrets.h"
#include "cli/exit_codes.h"
#include "cli/legacy_argv.h"

namespace mailmig::cli {

namespace {

constexpr const char* kHelp =
    R"help(imsdirmig - upgrade SIMS / Netscape Messaging Server directory entries to the
iPlanet Messaging Server schema (mailmig)

Usage: imsdirmig [-h HOST] [-p PORT] -b BASE -M sims|nms -D DN (-w PW | -j FILE)
                 -m domains|users|groups|both [-F FILTER] [-A attr:value[;attr:value]]
                 [-O] [-c] [-P]

  -h HOST    Directory server (default localhost)
  -p PORT    Port (default 389); StartTLS is used unless HOST is loopback
  -b BASE    Entries under this DN are processed
  -M PRODUCT sims or nms: the schema the entries come from
  -D DN      Bind DN
  -j FILE    File holding the bind password (mode 600); or MAILMIG_LDAP_PASSWORD
  -w PW      Bind password on the command line (works, but other users can see it)
  -m SCOPE   domains, users, groups, or both (users and groups)
  -F FILTER  Only entries that also match this LDAP filter, e.g. "(uid=s*)"
  -A PAIRS   attr:value pairs to set, separated by ";" (\; is a literal ;)
  -O         Overwrite: replace the -A attributes' values; the entries are not
             upgraded (mailmig directory modify --overwrite)
  -c         Continue after an entry fails (default: stop and name the entry)
  -P         Preserve the old schema's attributes next to the mapped ones, for
             the incremental method (old and new servers read the directory)
  --dry-run  Print the LDIF change records, change nothing
  --json     Report as JSON
  -?, --help This help

Without -O the entries are upgraded (mailmig directory upgrade --from PRODUCT)
and the -A values are added. Exit status: 0 done, 1 entries failed, 2 bad
command line, 3 could not connect or bind.
)help";

}  // namespace

ImsdirmigParse parse_imsdirmig(int argc, char** argv) {
  ImsdirmigParse result;
  DirectoryArgs& a = result.args;
  a.program = "imsdirmig";
  std::string host = "localhost";
  std::string port = "389";
  std::string product;
  const auto take_password = [&](const std::string& v) {
    a.password = v;
    a.password_given = true;
    result.warning =
        "imsdirmig: -w puts the password where other users can see it (ps); use -j FILE or "
        "MAILMIG_LDAP_PASSWORD";
    return std::string();
  };
  const auto add_set = [&a](const std::string& v) {
    a.sets.push_back(v);
    return std::string();
  };
  using T = LegacyOption::Takes;
  const std::vector<LegacyOption> options{
      legacy_flag({"-?", "--help"}, result.help),
      legacy_value({"-h"}, host),
      legacy_value({"-p"}, port),
      legacy_value({"-b"}, a.base),
      legacy_value({"-M"}, product),
      legacy_value({"-D"}, a.bind_dn),
      {{"-w"}, T::Secret, take_password},
      legacy_value({"-j"}, a.password_file),
      legacy_value({"-m"}, a.scope),
      legacy_value({"-F"}, a.filter),
      {{"-A"}, T::Value, add_set},
      legacy_flag({"-O"}, a.overwrite),
      legacy_flag({"-c"}, a.keep_going),
      legacy_flag({"-P"}, a.preserve),
      legacy_flag({"--dry-run"}, a.dry_run),
      legacy_flag({"--json"}, a.json),
  };
  result.error = parse_legacy_argv(
      argc, argv, options, LegacySyntax{.missing_value = "{} needs a value", .unknown = "unknown option {}"});
  if (!result.error.empty()) return result;
  if (result.help) return result;
  if (a.base.empty())
    result.error = "-b BASE is required";
  else if (product != "sims" && product != "nms")
    result.error = "-M sims or -M nms is required";
  else if (a.scope != "domains" && a.scope != "users" && a.scope != "groups" && a.scope != "both")
    result.error = "-m domains, users, groups or both is required";
  else if (a.bind_dn.empty())
    result.error = "-D DN is required";
  else if (a.overwrite && a.sets.empty())
    result.error = "-O needs -A attr:value (what to overwrite)";
  else if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos)
    result.error = "-p PORT: a number";
  if (!result.error.empty()) return result;
  const bool ipv6 = host.find(':') != std::string::npos && host.front() != '[';
  a.url = fmt::format("ldap://{}:{}", ipv6 ? "[" + host + "]" : host, port);
  a.from = product;
  // -O changes the given attributes only (the seed's hold/release steps "do not upgrade the entries").
  a.action = a.overwrite ? "modify" : "upgrade";
  return result;
}

int imsdirmig_main(int argc, char** argv) {
  ImsdirmigParse parsed = parse_imsdirmig(argc, argv);
  if (parsed.help) {
    std::cout << kHelp;
    return kExitOk;
  }
  if (!parsed.error.empty()) {
    std::cerr << "imsdirmig: " << parsed.error << "\n(imsdirmig -? for help)\n";
    return kExitUsage;
  }
  if (!parsed.warning.empty()) std::cerr << parsed.warning << "\n";
  return run_directory(parsed.args, std::cout, std::cerr);
}

}  // namespace mailmig::cli
