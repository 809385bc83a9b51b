// Reads a source folder for the engine: each readable message with its
// identity (SHA-256 of the bytes the target receives, and its ordinal among
// identical messages), without reading again what the state knows by UID.
#pragma once

#include <cstdint>
#include <functional>
#include <map>

#include "engine/account_context.h"
#include "engine/done_set.h"
#include "source/source.h"

namespace mailmig {

// Scans `box`, counting into r.source_messages (and r.failed for unreadable
// messages, reported with message scope). True when the scan was complete and
// reported no problem: only then may done messages it did not see be taken as
// deleted on the source (a corrupt or unreadable mailbox must never cause
// deletions). `known`: identities by source UID when the source keeps UIDs and
// its UIDVALIDITY is unchanged: those messages are not read again.
// A source that has given up on its connection (ScopedError of account scope)
// ends the scan with that error.
bool scan_identities(const AccountContext& ctx, Folder& box, const std::string& folder, FolderResult& r,
                     const std::function<void(const MessageInfo&, MessageKey)>& on_message,
                     const std::map<std::uint32_t, KnownUid>* known = nullptr);

}  // namespace mailmig
