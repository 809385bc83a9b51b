// The CommuniGate text mailbox reader (src/source/cgp MboxFile): scanning any
// file never crashes; every message it lists opens and yields exactly
// stored_size bytes; and the result does not depend on the buffer sizes
// (tiny buffers drive every chunk-boundary path), which the first input byte
// chooses.
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "fuzz_support.h"
#include "source/cgp/mailbox_files.h"

namespace {

struct Seen {
  std::vector<mailmig::MessageInfo> messages;
  std::vector<std::string> bodies;
  std::size_t problems = 0;
};

Seen read_all(mailmig::cgp::MboxFile& file) {
  Seen seen;
  file.scan([&](const mailmig::MessageInfo& m) { seen.messages.push_back(m); },
            [&](const mailmig::Problem&) { ++seen.problems; });
  for (const mailmig::MessageInfo& m : seen.messages) {
    std::string body;
    const auto reader = file.open(m);
    const std::uint64_t got = mailmig::fuzz::drain(*reader, &body);
    mailmig::fuzz::require(got == m.stored_size, "a message yields stored_size bytes");
    seen.bodies.push_back(std::move(body));
  }
  return seen;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mailmig;
  if (size == 0) return 0;
  const std::uint8_t knobs = data[0];
  const std::string path = fuzz::scratch_dir() + "/INBOX.mbox";
  fuzz::write_file(path, fuzz::as_view(data + 1, size - 1));
  const std::size_t scan_buffer = 1 + (knobs & 0x0FU);
  const std::size_t read_buffer = 1 + (knobs >> 4U);
  try {
    cgp::MboxFile small(path, scan_buffer, read_buffer);
    small.set_live((knobs & 1U) != 0);
    cgp::MboxFile normal(path);
    normal.set_live((knobs & 1U) != 0);
    const Seen a = read_all(small);
    const Seen b = read_all(normal);
    fuzz::require(a.messages.size() == b.messages.size(), "same messages whatever the buffer size");
    fuzz::require(a.problems == b.problems, "same problems whatever the buffer size");
    for (std::size_t i = 0; i < a.messages.size(); ++i) {
      fuzz::require(a.messages[i].size == b.messages[i].size, "same RFC822.SIZE whatever the buffer size");
      fuzz::require(a.messages[i].flags == b.messages[i].flags, "same flags whatever the buffer size");
      fuzz::require(a.bodies[i] == b.bodies[i], "same bytes whatever the buffer size");
    }
  } catch (const IoError&) {
    // A read error is reported by the caller; the scratch file has none.
    fuzz::require(false, "IoError on a readable regular file");
  }
  return 0;
}
