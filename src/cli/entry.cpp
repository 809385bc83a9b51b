#include "cli/entry.h"

namespace mailmig::cli {

int main_entry(int /*argc*/, char** /*argv*/) { return 0; }

}  // namespace mailmig::cli
