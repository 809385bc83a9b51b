// --provision command:CMD -- the administrator's own command, run once per
// user as `/bin/sh -c CMD` (e.g. "kopano-admin -c \"$MAILMIG_USER\" ...",
// "zmprov ca \"$MAILMIG_USER\" \"$(cat)\"").
//
// The command gets, in its environment (the parent's, minus any MAILMIG_*
// variable of its own):
//   MAILMIG_ACTION    create | exists
//   MAILMIG_ACCOUNT   login name without domain
//   MAILMIG_DOMAIN
//   MAILMIG_USER      account@domain
//   MAILMIG_REAL_NAME (create only)
// and, for create only, the password as one line on stdin -- never in argv or
// the environment, which other users can read through /proc. For exists,
// stdin is empty.
//
// exists: exit 0 = the user exists, 1 = it does not, anything else is a
// ProvisionError. create: exit 0 = created, anything else is a ProvisionError
// with the exit status and the first 2 KB of stderr (of stdout when stderr is
// empty; any occurrence of the password replaced by "***").
//
// The child runs in its own process group with default signal handling and no
// descriptors but 0, 1 and 2; after `timeout` the whole group is killed with
// SIGKILL and the call fails. Calls may run concurrently from several threads.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "provision/provisioner.h"

namespace mailmig {

std::unique_ptr<Provisioner> make_command_provisioner(
    const std::string& command, const ProvisionOptions& options,
    std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace mailmig
