// One UID FETCH read as its responses arrive, never a whole folder in memory:
// what the IMAP source (metadata, bodies read ahead) and the IMAP target
// (hashes read back) both fetch through.
#pragma once

#include <functional>
#include <string>

#include "imap/response.h"
#include "imap/response_parser.h"
#include "imap/session.h"

namespace mailmig::imap {

// UID FETCH `set` `items`: the data of each FETCH response goes to
// `on_fetch`; a literal over the parser's buffer limit goes to `sink` first,
// then the response that holds it (Item::is_streamed()). The session's
// handlers are cleared afterwards, also when the command fails. Throws as
// Session::run_ok.
void uid_fetch(Session& session, const std::string& set, const std::string& items,
               const std::function<void(const Item& data)>& on_fetch,
               ResponseParser::LiteralSink sink = nullptr);

}  // namespace mailmig::imap
