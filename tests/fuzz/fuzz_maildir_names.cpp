// Maildir message file names and folder directory names, through the one
// Maildir++ codec (src/format/maildir/) that the sources and the target use:
// never crash; the base is a prefix of the name; flag letters round-trip
// through info_letters and file_name; dovecot_order is a strict order; a
// folder name the writer maps is read back to the name it reports.
#include <cstdint>

#include "format/maildir/file_name.h"
#include "format/maildir/folder_names.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mailmig;
  const std::string_view input = fuzz::as_view(data, size);
  const auto halves = fuzz::split(input, std::string_view("\0", 1));
  const std::string_view name = halves[0];

  const maildir::FileName parsed = maildir::parse_file_name(name);
  fuzz::require(name.substr(0, parsed.base.size()) == parsed.base, "the base is a prefix of the name");
  fuzz::require(parsed.flags == maildir::flags_of(parsed.letters), "flags are the letters' flags");
  const std::string others = maildir::other_letters(parsed.letters);
  const std::string letters = maildir::info_letters(parsed.flags, {}, others);
  fuzz::require(maildir::flags_of(letters) == parsed.flags, "flags survive info_letters");
  if (parsed.base.find(':') == std::string::npos) {
    const maildir::FileName again = maildir::parse_file_name(maildir::file_name(parsed.base, letters));
    fuzz::require(again.base == parsed.base && again.flags == parsed.flags, "file_name round-trips");
  }
  if (halves.size() > 1) {
    const bool ab = maildir::dovecot_order(name, halves[1]);
    const bool ba = maildir::dovecot_order(halves[1], name);
    fuzz::require(!(ab && ba), "dovecot_order is a strict order");
  }
  fuzz::require(!maildir::dovecot_order(name, name), "dovecot_order is irreflexive");

  const maildir::FolderName mapped = maildir::map_folder(name);
  if (!mapped.directory.empty()) {
    fuzz::require(mapped.directory.front() == '.' && mapped.directory.find('/') == std::string::npos &&
                      mapped.directory.find("..") == std::string::npos,
                  "a mapped folder is one dot directory");
    const auto back = maildir::folder_of_directory(mapped.directory);
    fuzz::require(back.has_value(), "a mapped folder is a folder directory");
    if (!back->raw) fuzz::require(back->name == mapped.neutral, "a mapped folder reads back to its name");
  }
  (void)maildir::folder_of_directory(name);
  return 0;
}
