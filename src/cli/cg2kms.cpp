#include "cli/cg2kms.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <iostream>
#include <sstream>

#include "cli/argv_secrets.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/legacy_argv.h"
#include "cli/migrate_command.h"
#include "provision/passwords.h"

namespace mailmig::cli {

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
  -adminUrl URL          Kerio admin API for creating users (default https://SERVER:4040).
  -adminUser NAME        Kerio administrator (default Admin).
  -adminPassword PW      Kerio administrator password (default: the -password value).
  -caFile FILE           CA certificates that sign Kerio's TLS certificate.
  -insecure              Do not verify Kerio's TLS certificate.
  -tls                   IMAP over implicit TLS (default port 993).
  -jobs N                Users migrated in parallel (default 4).
  -state DIR             Run state directory (default: one per target under
                         /var/lib/mailmig/state, ~/.local/state/mailmig when not root); a re-run
                         with the same state copies only what is missing.

Files: every password set goes to cg2kms_YYYY-MM-DD_HH-MM-SS.pass (mode 600,
CSV account,password,how); everything is logged to cg2kms_YYYY-MM-DD_HH-MM-SS.log.

Exit status: 0 success, 1 finished with errors, 2 bad command line, 3 nothing done.
)";
}

namespace {

// A whole number in [low, high] for option `name`, or the error the original tool gave.
LegacyOption legacy_number(std::string_view name, long low, long high, std::string_view error_format,
                           const std::function<void(long)>& store) {
  return {{name}, LegacyOption::Takes::Value, [=](const std::string& text) {
            char* end = nullptr;
            const long n = std::strtol(text.c_str(), &end, 10);
            if (text.empty() || *end != '\0' || n < low || n > high)
              return fmt::format(fmt::runtime(error_format), text);
            store(n);
            return std::string();
          }};
}

std::vector<LegacyOption> cg2kms_options(Cg2kmsOptions& o) {
  using T = LegacyOption::Takes;
  return {
      legacy_value({"-path"}, o.path),
      legacy_value({"-domain"}, o.domain),
      legacy_value({"-user"}, o.user),
      legacy_value({"-server"}, o.server),
      legacy_value({"-password"}, o.password, T::Secret),
      legacy_value({"-setpass"}, o.set_pass, T::Secret),
      legacy_value({"-forcesetpass"}, o.force_set_pass, T::Secret),
      legacy_value({"-primarydomain"}, o.primary_domain),
      legacy_number("-port", 1, 65535, "-port {}: not a port number (1-65535)",
                    [&o](long n) { o.port = static_cast<int>(n); }),
      legacy_flag({"-migrate"}, o.migrate),
      legacy_flag({"-force"}, o.force),
      legacy_flag({"-quiet"}, o.quiet),
      legacy_flag({"-help", "-?", "-h", "/?"}, o.help),
      legacy_flag({"-allowlivestore"}, o.allow_live),
      legacy_value({"-adminurl"}, o.admin_url),
      legacy_value({"-adminuser"}, o.admin_user),
      legacy_value({"-adminpassword"}, o.admin_password, T::Secret),
      legacy_value({"-cafile"}, o.ca_file),
      legacy_flag({"-insecure"}, o.insecure),
      legacy_flag({"-tls"}, o.tls),
      legacy_value({"-state"}, o.state_dir),
      legacy_number("-jobs", 1, 256, "-jobs {}: expected 1-256",
                    [&o](long n) { o.jobs = static_cast<unsigned>(n); }),
      legacy_flag({"-json"}, o.json),
  };
}

}  // namespace

Cg2kmsParse parse_cg2kms(int argc, char** argv) {
  Cg2kmsParse result;
  Cg2kmsOptions& o = result.options;
  if (argc <= 1) {
    o.help = true;
    return result;
  }
  const LegacySyntax syntax{.fold_case = true,
                            .double_dash_alias = true,  // tolerate --path as well as -path
                            .missing_value = "option {} needs a value",
                            .unknown = "unknown option {} (see cg2kms -help)"};
  result.error = parse_legacy_argv(argc, argv, cg2kms_options(o), syntax);
  if (!result.error.empty()) return result;
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

namespace {

int cg2kms_migrate(const Cg2kmsOptions& o) {
  const auto now = std::chrono::system_clock::now();
  const std::string stamp = PassFile::default_name(now, "cg2kms");  // cg2kms_<datetime>.pass
  MigrateCommand m;
  m.source = "cgp:" + o.path;
  m.source_options = SourceOptions{.main_domain = o.primary_domain, .allow_live = o.allow_live};
  m.select.selection = Selection{.domain = o.domain, .user = o.user};
  m.target.target =
      fmt::format("{}://{}:{}", o.tls ? "imaps" : "imap", o.server, o.port == 143 && o.tls ? 993 : o.port);
  m.target.auth = "kerio-master";
  m.target.master_password = o.password;
  m.target.ca_file = o.ca_file;
  m.target.insecure = o.insecure;
  // The original tool spoke plain IMAP on port 143; keep that working, but say so.
  m.target.allow_plaintext = true;
  m.provision = "kerio:" + (o.admin_url.empty() ? fmt::format("https://{}:4040", o.server) : o.admin_url);
  m.provision_user = o.admin_user;
  m.provision_password = o.admin_password.empty() ? o.password : o.admin_password;
  m.provision_ca_file = o.ca_file;
  m.force = o.force;
  m.set_password = o.set_pass;
  m.force_set_password = o.force_set_pass;
  // .pass: named by migrate_command (cg2kms_<datetime>.pass, suffixed if that second is taken).
  m.log_file = stamp.substr(0, stamp.size() - 5) + ".log";
  m.file_prefix = "cg2kms";
  m.quiet = o.quiet;
  m.jobs = o.jobs;
  m.state_dir = o.state_dir;
  setup_logging(0, o.quiet, m.log_file);
  if (!o.tls)
    spdlog::warn("IMAP to {} is not encrypted unless the server offers STARTTLS; use -tls for imaps",
                 o.server);
  std::ostringstream discard;
  std::ostream& out = o.quiet ? static_cast<std::ostream&>(discard) : std::cout;
  std::ostream& err = o.quiet ? static_cast<std::ostream&>(discard) : std::cerr;
  const int status = run_migrate(m, out, err);
  if (!o.quiet) std::cout << fmt::format("log: {}\n", m.log_file);
  return status;
}

}  // namespace

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
  if (o.migrate) return cg2kms_migrate(o);
  setup_logging(0, o.quiet);
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
