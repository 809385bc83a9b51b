// The file name of a message in a CommuniGate .mdir mailbox (docs/cgp-store.md,
// section 6): i<UID, 8 digits>-<internal date, Unix epoch>-<flag letters S A F D T>.msg.
// Tolerated: any number of UID digits, letters in any order or case.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/message.h"

namespace mailmig::cgp {

struct MdirFileName {
  std::uint32_t uid = 0;
  std::int64_t epoch = 0;
  Flags flags = 0;
};

// nullopt for any other name (delivered without metadata by the reader).
std::optional<MdirFileName> parse_mdir_file_name(std::string_view name);
// The name CommuniGate gives such a file (letters in the order S A F D T).
std::string format_mdir_file_name(const MdirFileName& name);

}  // namespace mailmig::cgp
