#include "cli/imsdirmig.h"

#include <fmt/format.h>

#include <iostream>

#include "cli/argv_secrets.h"
#include "cli/exit_codes.h"

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
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](std::string& into, bool secret = false) {
      if (i + 1 >= argc) {
        result.error = fmt::format("{} needs a value", arg);
        return;
      }
      into = argv[++i];
      if (secret) scrub_argument(argv[i]);
    };
    if (arg == "-?" || arg == "--help")
      result.help = true;
    else if (arg == "-h")
      value(host);
    else if (arg == "-p")
      value(port);
    else if (arg == "-b")
      value(a.base);
    else if (arg == "-M")
      value(product);
    else if (arg == "-D")
      value(a.bind_dn);
    else if (arg == "-w") {
      value(a.password, true);
      a.password_given = true;
      result.warning =
          "imsdirmig: -w puts the password where other users can see it (ps); use -j FILE or "
          "MAILMIG_LDAP_PASSWORD";
    } else if (arg == "-j")
      value(a.password_file);
    else if (arg == "-m")
      value(a.scope);
    else if (arg == "-F")
      value(a.filter);
    else if (arg == "-A") {
      std::string spec;
      value(spec);
      a.sets.push_back(spec);
    } else if (arg == "-O")
      a.overwrite = true;
    else if (arg == "-c")
      a.keep_going = true;
    else if (arg == "-P")
      a.preserve = true;
    else if (arg == "--dry-run")
      a.dry_run = true;
    else if (arg == "--json")
      a.json = true;
    else
      result.error = fmt::format("unknown option {}", arg);
    if (!result.error.empty()) return result;
  }
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
