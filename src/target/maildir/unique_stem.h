// The unique name of a message file this process writes (the codec's form,
// format/maildir/file_name.h, filled in with this host, process and time).
#pragma once

#include <string>

namespace mailmig::maildir {

// A name unique on this host, used for the file in tmp/: time, microseconds,
// pid and a process-wide counter (threads of one process deliver within the
// same microsecond), and the host name.
std::string unique_stem();
// This host as unique_stem() writes it in names ('/' and ':' escaped).
const std::string& local_host_in_names();

}  // namespace mailmig::maildir
