// dovecot-uidlist, dovecot-keywords and subscriptions through the one
// Maildir++ codec (src/format/maildir/): never crash; a list read without
// broken lines is written back in a form read again to the same records (the
// target rewrites the file Dovecot reads); keyword tables and subscription
// lists round-trip too.
#include <cstdint>

#include "format/maildir/folder_names.h"
#include "format/maildir/keywords.h"
#include "format/maildir/uidlist.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mailmig;
  const std::string_view text = fuzz::as_view(data, size);

  const maildir::UidlistRead read = maildir::parse_uidlist(text);
  fuzz::require(read.list.has_value() != !read.header_error.empty(), "a list or a header error");
  if (read.list) {
    const maildir::Uidlist& list = *read.list;
    for (std::size_t i = 1; i < list.records.size(); ++i)
      fuzz::require(list.records[i - 1].uid < list.records[i].uid, "records ascend");
    const maildir::UidlistRead again = maildir::parse_uidlist(maildir::format_uidlist(list));
    fuzz::require(again.list.has_value(), "a written list is read again");
    fuzz::require(again.list->uidvalidity == list.uidvalidity && again.list->nextuid == list.nextuid,
                  "uidlist header round-trips");
    fuzz::require(again.list->records.size() == list.records.size(), "uidlist records round-trip");
    for (std::size_t i = 0; i < list.records.size(); ++i) {
      fuzz::require(again.list->records[i].uid == list.records[i].uid &&
                        again.list->records[i].base == list.records[i].base,
                    "uidlist record round-trips");
    }
  }

  const maildir::Keywords keywords = maildir::Keywords::parse(text);
  const maildir::Keywords reread = maildir::Keywords::parse(keywords.format());
  for (char letter = 'a'; letter <= 'z'; ++letter)
    fuzz::require(reread.name(letter) == keywords.name(letter), "dovecot-keywords round-trips");
  maildir::Keywords assigned;
  if (assigned.assign(text)) {
    fuzz::require(maildir::Keywords::parse(assigned.format()).letter(text) == 'a',
                  "an accepted keyword reads back");
  }

  const std::vector<std::string> subscribed = maildir::parse_subscriptions(text);
  (void)maildir::format_subscriptions(subscribed);
  return 0;
}
