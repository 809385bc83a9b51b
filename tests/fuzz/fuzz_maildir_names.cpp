// Maildir message file names, as the Maildir source reads them
// (src/source/maildir/maildir_name) and as the Maildir target reads them back
// (src/target/maildir/filename): never crash; the base is a prefix of the
// name; the target's flag letters round-trip through info_letters.
#include <cstdint>

#include "fuzz_support.h"
#include "source/maildir/maildir_name.h"
#include "target/maildir/filename.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mailmig;
  const std::string_view input = fuzz::as_view(data, size);
  const auto halves = fuzz::split(input, std::string_view("\0", 1));
  const std::string_view name = halves[0];

  const maildir::MaildirName source = maildir::parse_maildir_name(name);
  fuzz::require(name.substr(0, source.base.size()) == source.base,
                "source: the base is a prefix of the name");

  const maildir::ParsedName target = maildir::parse_name(name);
  fuzz::require(name.substr(0, target.base.size()) == target.base,
                "target: the base is a prefix of the name");
  const Flags flags = maildir::flags_of(target.letters);
  const std::string others = maildir::other_letters(target.letters);
  const std::string letters = maildir::info_letters(flags, {}, others);
  fuzz::require(maildir::flags_of(letters) == flags, "target: flags survive info_letters");
  (void)maildir::file_name(target.base, letters);
  if (halves.size() > 1) {
    const bool ab = maildir::dovecot_order(name, halves[1]);
    const bool ba = maildir::dovecot_order(halves[1], name);
    fuzz::require(!(ab && ba), "dovecot_order is a strict order");
  }
  fuzz::require(!maildir::dovecot_order(name, name), "dovecot_order is irreflexive");
  return 0;
}
