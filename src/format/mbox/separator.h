// The "From " line that starts every mbox message (docs/mbox.md,
// "Separator lines"), for cgp: .mbox mailboxes and mbox: files alike.
#pragma once

#include <optional>
#include <string_view>

#include "core/datetime.h"
#include "core/message.h"
#include "format/mbox/lines.h"

namespace mailmig::mbox {

// The date of a separator line "From <sender> <date>": the ctime form
// ("Thu Feb  1 10:11:12 2024", UTC; what mutt, Dovecot and procmail write),
// the ctime form followed by a zone or "remote from <host>" (UUCP, some MTAs),
// or an RFC 5322 date (CommuniGate writes "From <<sender>> <RFC 822 date>").
// Tolerated: an empty sender, a sender with blanks ("<a b@c>" or several
// words). nullopt when `line` is no "From " line or no date is found.
std::optional<DateTime> separator_date(std::string_view line);

// The message record a separator line starts: identity and offsets from the
// line, the separator's date, no flags, keywords or UID yet. `info.file` is kept.
void start_message_info(MessageInfo& info, const Line& separator, std::optional<DateTime> date);

}  // namespace mailmig::mbox
