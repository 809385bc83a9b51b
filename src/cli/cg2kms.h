// The cg2kms front end: the original CommuniGate -> Kerio Connect tool's
// single-dash command line (seeds/000), kept exactly so administrators'
// scripts keep working. Options are matched case-insensitively, as on Windows.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace mailmig::cli {

struct Cg2kmsOptions {
  std::string path;
  std::string domain;
  std::string user;
  std::string server;
  int port = 143;
  std::string password;        // master password (secret)
  std::string set_pass;        // secret
  std::string force_set_pass;  // secret
  bool migrate = false;
  bool force = false;
  std::string primary_domain;
  bool quiet = false;
  bool help = false;
  // Additions (not in the original tool):
  bool allow_live = false;           // -allowLiveStore: read a running server's store (snapshots)
  bool json = false;                 // -json: overview as JSON
  std::string admin_url;             // -adminUrl: Kerio admin API (default https://SERVER:4040)
  std::string admin_user = "Admin";  // -adminUser
  std::string admin_password;        // -adminPassword (secret; default: -password)
  std::string ca_file;               // -caFile: CA for TLS to Kerio (IMAP and admin API)
  bool insecure = false;             // -insecure: skip TLS verification
  bool tls = false;                  // -tls: IMAP over implicit TLS (port default 993)
  unsigned jobs = 4;                 // -jobs N
  std::string state_dir;             // -state DIR
};

struct Cg2kmsParse {
  Cg2kmsOptions options;
  std::string error;  // non-empty: usage error to print
};

// Parses argv[1..]. Overwrites the values of password options in argv so they
// do not stay visible in the process listing.
Cg2kmsParse parse_cg2kms(int argc, char** argv);

void print_cg2kms_help(std::ostream& out);

int cg2kms_main(int argc, char** argv);

}  // namespace mailmig::cli
