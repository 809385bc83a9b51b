#include "format/cgp/mdir_name.h"

#include <fmt/format.h>

#include <array>
#include <utility>

#include "core/ascii.h"
#include "core/text_fields.h"

namespace mailmig::cgp {
namespace {

constexpr std::string_view kSuffix = ".msg";
constexpr std::array<std::pair<char, Flag>, 5> kLetters{{
    {'S', kSeen},
    {'A', kAnswered},
    {'F', kFlagged},
    {'D', kDeleted},
    {'T', kDraft},
}};

}  // namespace

std::optional<MdirFileName> parse_mdir_file_name(std::string_view name) {
  if (!name.starts_with('i') || !name.ends_with(kSuffix)) return std::nullopt;
  const std::string_view rest = name.substr(1, name.size() - 1 - kSuffix.size());
  const std::size_t dash1 = rest.find('-');
  const std::size_t dash2 = dash1 == std::string_view::npos ? dash1 : rest.find('-', dash1 + 1);
  if (dash2 == std::string_view::npos) return std::nullopt;
  const auto uid = parse_uid32(rest.substr(0, dash1));
  const auto epoch = parse_decimal(rest.substr(dash1 + 1, dash2 - dash1 - 1), 12);
  if (!uid || !epoch) return std::nullopt;
  MdirFileName out{.uid = *uid, .epoch = static_cast<std::int64_t>(*epoch)};
  for (const char c : rest.substr(dash2 + 1)) {
    bool known = false;
    for (const auto& [letter, flag] : kLetters) {
      if (ascii_upper(c) == letter) {
        out.flags |= flag;
        known = true;
      }
    }
    if (!known) return std::nullopt;
  }
  return out;
}

std::string format_mdir_file_name(const MdirFileName& name) {
  std::string letters;
  for (const auto& [letter, flag] : kLetters) {
    if ((name.flags & flag) != 0) letters += letter;
  }
  return fmt::format("i{:08}-{}-{}.msg", name.uid, name.epoch, letters);
}

}  // namespace mailmig::cgp
