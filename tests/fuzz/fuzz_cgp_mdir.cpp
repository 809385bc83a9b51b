// The CommuniGate MailDir mailbox reader (src/source/cgp MdirDirectory): a
// directory of files whose names and contents come from the input (parts
// separated by "\n--\n": name, content, name, content, ...). Scanning never
// crashes, and every listed message opens and yields stored_size bytes.
#include <cstdint>
#include <filesystem>
#include <string>

#include "core/error.h"
#include "fuzz_support.h"
#include "source/cgp/mailbox_files.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mailmig;
  const std::string dir = fuzz::scratch_dir() + "/INBOX.mdir";
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  std::filesystem::create_directory(dir);
  const auto parts = fuzz::split(fuzz::as_view(data, size), "\n--\n");
  for (std::size_t i = 0; i + 1 < parts.size() && i < 64; i += 2) {
    const std::string_view name = parts[i];
    // Names the file system cannot hold are not what this target is about.
    if (name.empty() || name.size() > 200 || name == "." || name == ".." ||
        name.find_first_of(std::string_view("/\0", 2)) != std::string_view::npos)
      continue;
    fuzz::write_file(dir + "/" + std::string(name), parts[i + 1]);
  }
  cgp::MdirDirectory folder(dir);
  folder.set_live(size % 2 == 0);
  std::vector<MessageInfo> messages;
  folder.scan([&](const MessageInfo& m) { messages.push_back(m); }, [](const Problem&) {});
  for (const MessageInfo& m : messages) {
    try {
      const auto reader = folder.open(m);
      fuzz::require(fuzz::drain(*reader) == m.stored_size, "a message yields stored_size bytes");
    } catch (const IoError&) {
      fuzz::require(false, "IoError on a listed message");
    }
  }
  return 0;
}
