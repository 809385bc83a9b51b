#include "format/maildir/uidlist.h"

#include <fmt/format.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <stdexcept>

namespace mailmig::maildir {
namespace {

// A UID or UIDVALIDITY: 1..2^32-1, digits only.
std::optional<std::uint32_t> uid32(std::string_view text) {
  std::uint32_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value == 0 ||
      text.front() == '-' || text.front() == '+')
    return std::nullopt;
  return value;
}

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

std::string_view trim_spaces(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

// Header into `list`; an error text when it cannot be used.
std::string read_header(std::string_view header, int& version, Uidlist& list,
                        std::vector<UidlistLine>& broken) {
  const std::vector<std::string_view> fields = words(header);
  if (fields.empty()) return "empty header";
  bool has_next = false;
  if (fields[0] == "3") {
    version = 3;
    for (std::size_t i = 1; i < fields.size(); ++i) {
      const std::string_view f = fields[i];
      const std::string_view value = f.substr(1);
      if (f[0] == 'V') {
        list.uidvalidity = uid32(value).value_or(0);
      } else if (f[0] == 'N') {
        list.nextuid = uid32(value).value_or(0);
        has_next = list.nextuid != 0;
      } else if (f[0] == 'G') {
        list.guid = std::string(value);
      } else {
        list.header_extra += (list.header_extra.empty() ? "" : " ") + std::string(f);
      }
    }
  } else if (fields[0] == "1" && fields.size() >= 3) {
    version = 1;
    list.uidvalidity = uid32(fields[1]).value_or(0);
    list.nextuid = uid32(fields[2]).value_or(0);
    has_next = list.nextuid != 0;
  } else if (fields[0] == "1") {
    return "version 1 header needs UIDVALIDITY and next UID";
  } else {
    return fmt::format("unknown format version \"{}\"", fields[0]);
  }
  if (list.uidvalidity == 0) return "no UIDVALIDITY in the header";
  if (!has_next) {
    list.nextuid = 1;
    broken.push_back(UidlistLine{.line = 1, .what = "no next UID in the header"});
  }
  return {};
}

}  // namespace

UidlistRead parse_uidlist(std::string_view text) {
  UidlistRead out;
  Uidlist list;
  int version = 0;
  std::uint32_t previous = 0;
  std::size_t line_no = 0;
  bool header_done = false;
  while (!text.empty() || line_no == 0) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    // All CRs at the end go (Dovecot drops one): a name ending in CR would
    // not survive our own rewrite.
    while (line.ends_with('\r')) line.remove_suffix(1);
    ++line_no;
    if (!header_done) {
      header_done = true;
      out.header_error = read_header(line, version, list, out.broken);
      if (!out.header_error.empty()) return out;
      continue;
    }
    if (line.empty()) continue;
    const auto bad = [&](std::string what) {
      out.broken.push_back(UidlistLine{.line = line_no, .what = std::move(what)});
    };
    const std::size_t space = line.find(' ');
    const auto uid = uid32(line.substr(0, space));
    if (!uid || space == std::string_view::npos) {
      bad("no UID");
      continue;
    }
    if (*uid <= previous) {
      bad("UIDs not ascending");
      continue;
    }
    UidRecord rec{.uid = *uid};
    std::string_view name;
    if (version == 3) {
      // Extension fields ("W1234 S1200") come first; the name follows " :".
      const std::size_t colon = line.find(" :", space);
      if (colon == std::string_view::npos) {
        bad("no ':' before the file name");
        continue;
      }
      rec.extensions = std::string(trim_spaces(line.substr(space, colon - space)));
      name = line.substr(colon + 2);
    } else {
      name = trim_spaces(line.substr(space + 1));
    }
    name = name.substr(0, name.find(':'));  // a full file name: its info part is not part of the key
    // Dovecot never lists a file whose name holds CR (or '/', or LF).
    if (name.empty() || name.find_first_of("/\r") != std::string_view::npos) {
      bad("bad file name");
      continue;
    }
    rec.base = std::string(name);
    previous = *uid;
    list.records.push_back(std::move(rec));
  }
  // Dovecot: "if (next_uid <= prev_read_uid) next_uid = prev_read_uid + 1".
  if (list.nextuid <= previous) list.nextuid = previous + 1;
  out.list = std::move(list);
  return out;
}

std::string format_uidlist(const Uidlist& list) {
  std::string out = fmt::format("3 V{} N{} G{}", list.uidvalidity, list.nextuid, list.guid);
  if (!list.header_extra.empty()) out += " " + list.header_extra;
  out += '\n';
  for (const UidRecord& r : list.records) {
    out += fmt::format("{}", r.uid);
    if (!r.extensions.empty()) out += " " + r.extensions;
    out += " :" + r.base + "\n";
  }
  return out;
}

std::unordered_map<std::string, std::uint32_t> uids_by_base(const Uidlist& list) {
  std::unordered_map<std::string, std::uint32_t> out;
  for (const UidRecord& r : list.records) out.emplace(r.base, r.uid);
  return out;
}

std::string new_mailbox_guid() {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    throw std::runtime_error("no random bytes for a mailbox GUID");
  }
  std::string out;
  for (const unsigned char b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

}  // namespace mailmig::maildir
