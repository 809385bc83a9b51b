// imsdirmig: the iPlanet Messaging Server directory migration command line
// (a further name of the mailmig binary), mapped onto `mailmig directory
// upgrade` (no -O) or `mailmig directory modify --overwrite` (-O).
#pragma once

#include <string>

#include "cli/directory_command.h"

namespace mailmig::cli {

struct ImsdirmigParse {
  DirectoryArgs args;
  bool help = false;
  std::string error;    // usage error, empty when fine
  std::string warning;  // -w on the command line
};

// Scrubs the -w password from argv (it stays readable in /proc otherwise).
ImsdirmigParse parse_imsdirmig(int argc, char** argv);
int imsdirmig_main(int argc, char** argv);

}  // namespace mailmig::cli
