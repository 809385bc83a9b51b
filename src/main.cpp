#include "cli/entry.h"

int main(int argc, char** argv) {
  return mailmig::cli::main_entry(argc, argv);
}
