// Text from a store or a server (folder names, real names, file names, server
// messages) shown to a person: control characters must not reach the
// terminal raw, where ESC sequences can rewrite the screen, hide lines or set
// the window title. JSON output keeps the exact bytes; human output and the
// log go through printable().
#pragma once

#include <string>
#include <string_view>

namespace mailmig {

// `text` with C0 controls (0x00-0x1F), DEL and the C1 controls U+0080-U+009F
// (UTF-8 C2 80 .. C2 9F) written as \xHH (\x9b for U+009B); every other byte,
// valid UTF-8 or not, is kept.
std::string printable(std::string_view text);

}  // namespace mailmig
