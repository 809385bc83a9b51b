// LDIF files (src/directory/ldif): any file read through LdifReader yields
// records or LdifErrors naming a line of the file, and never stops early on
// a bad record (each one is consumed, so the reader always ends); what it
// returns, written back with LdifWriter, reads back to the same records.
#include <algorithm>
#include <cstdint>
#include <sstream>

#include "directory/ldif.h"
#include "fuzz_support.h"

namespace {

using mailmig::directory::LdifError;
using mailmig::directory::LdifLine;
using mailmig::directory::LdifReader;
using mailmig::directory::LdifRecord;
using mailmig::directory::LdifWriter;
namespace fuzz = mailmig::fuzz;

bool same_lines(const LdifRecord& a, const LdifRecord& b) {
  if (a.dn != b.dn || a.lines.size() != b.lines.size()) return false;
  for (std::size_t i = 0; i < a.lines.size(); ++i) {
    if (a.lines[i].kind != b.lines[i].kind || a.lines[i].name != b.lines[i].name ||
        a.lines[i].value != b.lines[i].value)
      return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_view(data, size);
  const auto lines_in_file = static_cast<unsigned long>(std::count(text.begin(), text.end(), '\n') + 1);
  const std::string path = fuzz::scratch_dir() + "/input.ldif";
  fuzz::write_file(path, text);

  std::vector<LdifRecord> records;
  {
    LdifReader reader(path);
    LdifRecord record;
    // Each call consumes at least one record (or ends), so this loop ends;
    // the bound turns a reader that stops making progress into a finding.
    for (std::size_t calls = 0;; ++calls) {
      fuzz::require(calls <= size + 1, "the reader ends (each call consumes a record)");
      try {
        if (!reader.next(record)) break;
        fuzz::require(record.line >= 1 && record.line <= lines_in_file, "a record's dn line is in the file");
        for (const LdifLine& line : record.lines)
          fuzz::require(line.line >= record.line && line.line <= lines_in_file,
                        "a record's lines come after its dn, inside the file");
        records.push_back(record);
      } catch (const LdifError& e) {
        fuzz::require(e.line() >= 1 && e.line() <= lines_in_file, "an LdifError names a line of the file");
      } catch (const std::runtime_error&) {
        break;  // cannot read further (libldap gave up on the file)
      }
    }
  }

  // Round trip: what was read, written as LDIF, reads back the same.
  std::ostringstream out;
  LdifWriter writer(out);
  for (const LdifRecord& record : records) writer.write(record);
  fuzz::write_file(path, out.str());
  LdifReader again(path);
  LdifRecord record;
  for (const LdifRecord& expected : records) {
    bool got = false;
    try {
      got = again.next(record);
    } catch (const LdifError&) {
      fuzz::require(false, "a record written by LdifWriter reads back without error");
    }
    fuzz::require(got, "every written record reads back");
    fuzz::require(same_lines(expected, record), "a written record reads back with the same dn and lines");
  }
  fuzz::require(!again.next(record), "nothing more reads back than was written");
  return 0;
}
