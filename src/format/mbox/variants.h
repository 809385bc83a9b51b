// The mbox variants and how each is read (docs/mbox.md, "Variants and quoting"). Research summary
// (doc.dovecot.org "Mbox Mailbox Format", RFC 4155, qmail mbox(5)):
//   mboxo   writers quote ^From_ as >From_ and nothing else, so a body line
//           that was ">From " cannot be told apart; readers undo ^>From_ only.
//   mboxrd  writers quote ^>*From_ with one more '>'; readers drop one '>'
//           from every ^>+From_ line: exact.
//   mboxcl  Content-Length gives the body size; bodies quoted as mboxo.
//   mboxcl2 Content-Length, no quoting at all (what Dovecot writes).
// Dovecot (and UW-IMAP) serve mbox bytes without any unquoting and use
// Content-Length only when it lands exactly on the next "From " line or the
// end of the file. Decision for --mbox-format auto (the default), per file:
// a file Dovecot or UW-IMAP managed (X-IMAP/X-IMAPbase in its first message)
// is read like Dovecot reads it (mboxcl2: the bytes its users were served);
// any other file is read as mboxrd (the exact inverse for mboxrd writers, and
// for mboxo writers it restores every line they quoted), with an exact
// Content-Length still deciding the end of a message.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailmig::mbox {

enum class MboxFormat : std::uint8_t { Auto, Mboxo, Mboxrd, Mboxcl, Mboxcl2 };

// "auto", "mboxo", ...; nullopt for anything else.
std::optional<MboxFormat> parse_mbox_format(std::string_view name);
const char* mbox_format_name(MboxFormat format);

enum class Unquote : std::uint8_t {
  None,  // deliver ">From " lines as stored
  One,   // mboxo: ^>From_ loses its '>'
  All,   // mboxrd: ^>+From_ loses one '>'
};

struct ReadRules {
  bool content_length = false;  // an exact Content-Length decides where the message ends
  Unquote unquote = Unquote::None;
};

// `managed`: the file's first message carries X-IMAP or X-IMAPbase.
ReadRules read_rules(MboxFormat format, bool managed);

}  // namespace mailmig::mbox
