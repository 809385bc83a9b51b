// `mailmig directory rewrite|transplant|modify|upgrade`: the command lines of
// the directory layer (src/directory/) and their reports. imsdirmig builds the
// same DirectoryArgs (cli/imsdirmig.cpp).
#pragma once

#include <CLI/CLI.hpp>
#include <ostream>
#include <string>
#include <vector>

namespace mailmig::cli {

struct DirectoryArgs {
  std::string action;  // rewrite, transplant, modify, upgrade
  // rewrite
  std::string input;
  std::string output;
  // rewrite, transplant (upgrade: overrides the built-in upgrade-<from> rules)
  std::string rules;
  std::string old_schema;
  // modify, upgrade
  std::string scope;
  std::string filter;
  std::vector<std::string> sets;  // each "attr:value[;attr:value...]"
  bool overwrite = false;
  std::string from;       // upgrade: sims | nms
  bool preserve = false;  // upgrade: keep the old attributes next to the mapped ones (imsdirmig -P)
  std::vector<std::string> user_classes{"inetMailUser", "inetLocalMailRecipient", "mailRecipient"};
  std::vector<std::string> group_classes{"inetMailGroup", "mailGroup"};
  std::vector<std::string> domain_classes{"mailDomain", "inetDomain"};
  // connection
  std::string url;
  std::string bind_dn;
  std::string password_file;
  std::string password;  // only imsdirmig -w sets it (scrubbed from argv)
  bool password_given = false;
  std::string base;
  std::string ca_file;
  bool starttls = false;
  bool insecure = false;
  // run
  bool dry_run = false;
  std::string ldif_out;
  bool keep_going = false;
  bool json = false;
  std::string program = "mailmig directory";  // in messages
};

void add_directory_command(CLI::App& app, DirectoryArgs& args, CLI::App*& command);
int run_directory(DirectoryArgs& args, std::ostream& out, std::ostream& err);

}  // namespace mailmig::cli
