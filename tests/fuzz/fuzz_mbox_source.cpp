// The mbox source (src/source/mbox): all four variants and auto. The first
// input byte picks the variant and the scan buffer; the rest is the file.
// Scanning never crashes, and every listed message opens and yields exactly
// stored_size bytes.
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "fuzz_support.h"
#include "source/mbox/mbox_folder.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mailmig;
  if (size == 0) return 0;
  constexpr mbox::MboxFormat kFormats[] = {mbox::MboxFormat::Auto, mbox::MboxFormat::Mboxo,
                                           mbox::MboxFormat::Mboxrd, mbox::MboxFormat::Mboxcl,
                                           mbox::MboxFormat::Mboxcl2};
  const mbox::MboxFormat format = kFormats[(data[0] & 0x07U) % 5];
  const std::size_t scan_buffer =
      (data[0] & 0x80U) != 0 ? 1 + ((data[0] >> 3U) & 0x0FU) : mbox::MboxFolder::kScanBuffer;
  const std::string path = fuzz::scratch_dir() + "/mbox";
  fuzz::write_file(path, fuzz::as_view(data + 1, size - 1));
  try {
    (void)mbox::peek_file(path);
    mbox::MboxFolder folder(path, format, scan_buffer);
    std::vector<MessageInfo> messages;
    folder.scan([&](const MessageInfo& m) { messages.push_back(m); }, [](const Problem&) {});
    for (const MessageInfo& m : messages) {
      const auto reader = folder.open(m);
      fuzz::require(fuzz::drain(*reader) == m.stored_size, "a message yields stored_size bytes");
    }
  } catch (const IoError&) {
    fuzz::require(false, "IoError on a readable regular file");
  }
  return 0;
}
