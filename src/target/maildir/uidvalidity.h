// UIDVALIDITY of new folders, allocated like Dovecot's mailbox_uidvalidity_next()
// (lib-storage/mailbox-uidvalidity.c) from the account root's
// "dovecot-uidvalidity" file (8 hex digits) and its empty companion
// "dovecot-uidvalidity.<hex>": renaming the companion to the next value is the
// atomic step, so we and a Dovecot creating folders at the same time never
// hand out the same value. The first value is the current time, as in Dovecot.
#pragma once

#include <cstdint>
#include <string>

#include "target/maildir/files.h"

namespace mailmig::maildir {

std::uint32_t next_uidvalidity(const std::string& maildir_root, const Owner& owner);

}  // namespace mailmig::maildir
