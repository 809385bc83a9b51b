#include "core/message.h"

namespace mailmig {

namespace {
struct FlagName {
  Flag flag;
  const char* imap;
  char letter;
};
constexpr FlagName kFlagNames[] = {
    {kSeen, "\\Seen", 'S'},       {kAnswered, "\\Answered", 'A'}, {kFlagged, "\\Flagged", 'F'},
    {kDeleted, "\\Deleted", 'D'}, {kDraft, "\\Draft", 'T'},
};
}  // namespace

std::string flags_to_imap(Flags flags) {
  std::string out;
  for (const auto& f : kFlagNames) {
    if ((flags & f.flag) == 0) continue;
    if (!out.empty()) out += ' ';
    out += f.imap;
  }
  return out;
}

std::string flags_to_letters(Flags flags) {
  std::string out;
  for (const auto& f : kFlagNames) {
    if ((flags & f.flag) != 0) out += f.letter;
  }
  return out;
}

}  // namespace mailmig
