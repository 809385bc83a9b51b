#include "cli/cg2kms.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/exit_codes.h"

namespace mailmig::cli {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Hides a secret in /proc/<pid>/cmdline; the copy we keep is a std::string.
void scrub(char* arg) { std::memset(arg, 'x', std::strlen(arg)); }

}  // namespace

void print_cg2kms_help(std::ostream& out) {
  out << R"(cg2kms - CommuniGate Pro to Kerio Connect migration tool (mailmig)

Usage: cg2kms -path PATH [options]

Without -migrate, an overview of the domains and users of the CommuniGate
store is printed. With -migrate, users are migrated over IMAP with master
authentication (all domains, one domain with -domain, or one user with
-domain and -user).

  -path PATH             Required. Path to the CommuniGate data store,
                         typically /var/CommuniGate.
  -domain DOMAIN         Domain to be viewed or migrated.
  -user USER             User to be migrated.
  -server SERVER         Name or IP address of Kerio Connect (required for -migrate).
  -port PORT             Port of the IMAP service (default 143).
  -password PASSWORD     Master authentication password (required for -migrate).
  -setPass PASSWORD      Password for users whose CommuniGate password is encrypted.
  -forceSetPass PASSWORD Password for the single user being migrated.
  -migrate               Migrate; without it, show the overview.
  -force                 Also migrate users that already exist in Kerio Connect.
  -primaryDomain DOMAIN  Name of the main domain (the store's Accounts/ directory);
                         default: Settings/Main.settings, else this computer's name.
  -quiet                 No screen output (the log file is still written).
  -help, -?              This help.

Additions:
  -allowLiveStore        Read the store although its CommuniGate server is running
                         (only for a read-only snapshot of the store).
  -json                  Print the overview as JSON (the mailmig inventory format).

Exit status: 0 success, 1 finished with errors, 2 bad command line, 3 nothing done.
)";
}

Cg2kmsParse parse_cg2kms(int argc, char** argv) {
  Cg2kmsParse result;
  Cg2kmsOptions& o = result.options;
  if (argc <= 1) {
    o.help = true;
    return result;
  }
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string name = lower(arg);
    if (name.starts_with("--")) name.erase(0, 1);  // tolerate --path as well as -path
    auto value = [&](std::string& into, bool secret = false) {
      if (i + 1 >= argc) {
        result.error = fmt::format("option {} needs a value", arg);
        return false;
      }
      into = argv[++i];
      if (secret) scrub(argv[i]);
      return true;
    };
    bool ok = true;
    if (name == "-path") ok = value(o.path);
    else if (name == "-domain") ok = value(o.domain);
    else if (name == "-user") ok = value(o.user);
    else if (name == "-server") ok = value(o.server);
    else if (name == "-password") ok = value(o.password, true);
    else if (name == "-setpass") ok = value(o.set_pass, true);
    else if (name == "-forcesetpass") ok = value(o.force_set_pass, true);
    else if (name == "-primarydomain") ok = value(o.primary_domain);
    else if (name == "-port") {
      std::string port;
      ok = value(port);
      if (ok) {
        char* end = nullptr;
        const long n = std::strtol(port.c_str(), &end, 10);
        if (port.empty() || *end != '\0' || n < 1 || n > 65535) {
          result.error = fmt::format("-port {}: not a port number (1-65535)", port);
          return result;
        }
        o.port = static_cast<int>(n);
      }
    } else if (name == "-migrate") o.migrate = true;
    else if (name == "-force") o.force = true;
    else if (name == "-quiet") o.quiet = true;
    else if (name == "-help" || name == "-?" || name == "-h" || name == "/?") o.help = true;
    else if (name == "-allowlivestore") o.allow_live = true;
    else if (name == "-json") o.json = true;
    else {
      result.error = fmt::format("unknown option {} (see cg2kms -help)", arg);
      return result;
    }
    if (!ok) return result;
  }
  if (o.help) return result;
  if (o.path.empty()) {
    result.error = "-path is required: the CommuniGate data store, e.g. -path /var/CommuniGate";
  } else if (!o.user.empty() && o.domain.empty() && o.user.find('@') == std::string::npos) {
    result.error = "-user needs -domain (or give the user as user@domain)";
  } else if (o.migrate && o.server.empty()) {
    result.error = "-migrate needs -server: the name or IP address of Kerio Connect";
  } else if (o.migrate && o.password.empty()) {
    result.error = "-migrate needs -password: the master authentication password of Kerio Connect";
  } else if (!o.force_set_pass.empty() && o.user.empty()) {
    result.error = "-forceSetPass applies to a single user: give -domain and -user";
  }
  return result;
}

int cg2kms_main(int argc, char** argv) {
  Cg2kmsParse parsed = parse_cg2kms(argc, argv);
  const Cg2kmsOptions& o = parsed.options;
  if (!parsed.error.empty()) {
    std::cerr << "cg2kms: " << parsed.error << "\n";
    return kExitUsage;
  }
  if (o.help) {
    print_cg2kms_help(std::cout);
    return kExitOk;
  }
  setup_logging(0, o.quiet);
  if (o.migrate) {
    std::cerr << "cg2kms: -migrate is not available in this version of mailmig yet; "
                 "run without -migrate for the overview\n";
    return kExitFatal;
  }
  InventoryCommand command;
  command.source = "cgp:" + o.path;
  command.source_options = SourceOptions{.main_domain = o.primary_domain, .allow_live = o.allow_live};
  command.inventory.selection = Selection{.domain = o.domain, .user = o.user};
  command.json = o.json;
  // -quiet disables the dumps on screen; problems still decide the exit status.
  std::ostringstream discard;
  std::ostream& out = o.quiet ? static_cast<std::ostream&>(discard) : std::cout;
  std::ostream& err = o.quiet ? static_cast<std::ostream&>(discard) : std::cerr;
  return run_inventory(command, out, err);
}

}  // namespace mailmig::cli
