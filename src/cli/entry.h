#pragma once

namespace mailmig::cli {

// Dispatches on the program name: "cg2kms" runs the CommuniGate front end,
// anything else the mailmig subcommands.
int main_entry(int argc, char** argv);

}  // namespace mailmig::cli
