#pragma once

namespace mailmig::cli {

// Stable for scripts: documented in README.md.
enum ExitCode : int {
  kExitOk = 0,        // everything done, no problem found
  kExitProblems = 1,  // finished, but problems were reported (listed in the summary)
  kExitUsage = 2,     // bad command line
  kExitFatal = 3,     // nothing could be done (source unreadable, server running, ...)
  // Stopped by a signal before the end (cli/interrupt.h): 128 + its number, as a
  // shell reports it. The same command resumes.
  kExitInterrupted = 130,  // SIGINT (Ctrl-C)
  kExitTerminated = 143,   // SIGTERM
};

}  // namespace mailmig::cli
