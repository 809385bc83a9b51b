// dovecot-uidlist and dovecot-keywords, as the Maildir source reads them
// (src/source/maildir/uidlist) and as the Maildir target reads and rewrites
// them (src/target/maildir/uidlist, keywords). Never crash; what the target
// accepts it writes back in a form it reads again to the same records (it
// rewrites the file Dovecot reads); keyword tables round-trip too.
#include <cstdint>
#include <stdexcept>

#include "fuzz_support.h"
#include "source/maildir/uidlist.h"
#include "target/maildir/keywords.h"
#include "target/maildir/uidlist.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mailmig;
  const std::string_view text = fuzz::as_view(data, size);

  std::string error;
  std::size_t bad_lines = 0;
  (void)maildir::parse_uidlist(text, error, bad_lines);
  (void)maildir::parse_keywords(text);

  try {
    const maildir::Uidlist list = maildir::parse_uidlist(text);
    const maildir::Uidlist again = maildir::parse_uidlist(maildir::format_uidlist(list));
    fuzz::require(again.uidvalidity == list.uidvalidity && again.nextuid == list.nextuid,
                  "uidlist header round-trips");
    fuzz::require(again.records.size() == list.records.size(), "uidlist records round-trip");
    for (std::size_t i = 0; i < list.records.size(); ++i) {
      fuzz::require(
          again.records[i].uid == list.records[i].uid && again.records[i].base == list.records[i].base,
          "uidlist record round-trips");
    }
  } catch (const std::runtime_error&) {
    // Broken for Dovecot too: refused with the line number.
  }

  const maildir::Keywords keywords = maildir::Keywords::parse(std::string(text));
  const maildir::Keywords reread = maildir::Keywords::parse(keywords.format());
  for (char letter = 'a'; letter <= 'z'; ++letter)
    fuzz::require(reread.name(letter) == keywords.name(letter), "dovecot-keywords round-trips");
  return 0;
}
