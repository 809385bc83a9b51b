#include "target/maildir/uidlist.h"

#include <fmt/format.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <stdexcept>

namespace mailmig::maildir {

namespace {

std::optional<std::uint32_t> number(std::string_view text) {
  std::uint32_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

[[noreturn]] void broken(std::size_t line, const std::string& what) {
  throw std::runtime_error(fmt::format("dovecot-uidlist line {}: {}", line, what));
}

std::vector<std::string_view> fields(std::string_view line) {
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

}  // namespace

Uidlist parse_uidlist(std::string_view text) {
  Uidlist list;
  std::size_t line_no = 0;
  int version = 0;
  std::uint32_t previous = 0;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (line_no == 1) {
      if (line.size() < 2 || line[1] != ' ' || (line[0] != '1' && line[0] != '3'))
        broken(1, "unsupported header");
      version = line[0] - '0';
      const auto parts = fields(line.substr(2));
      if (version == 1) {
        if (parts.size() < 2) broken(1, "version 1 header needs UIDVALIDITY and next UID");
        list.uidvalidity = number(parts[0]).value_or(0);
        list.nextuid = number(parts[1]).value_or(0);
      } else {
        for (std::string_view f : parts) {
          const std::string_view value = f.substr(1);
          if (f[0] == 'V')
            list.uidvalidity = number(value).value_or(0);
          else if (f[0] == 'N')
            list.nextuid = number(value).value_or(0);
          else if (f[0] == 'G')
            list.guid = std::string(value);
          else
            list.header_extra += (list.header_extra.empty() ? "" : " ") + std::string(f);
        }
      }
      if (list.uidvalidity == 0 || list.nextuid == 0) broken(1, "UIDVALIDITY or next UID missing");
      continue;
    }
    if (line.empty()) continue;
    const std::size_t space = line.find(' ');
    const auto uid = number(line.substr(0, space));
    if (!uid || *uid == 0 || space == std::string_view::npos) broken(line_no, "no UID");
    if (*uid <= previous) broken(line_no, "UIDs not ascending");
    previous = *uid;
    UidRecord rec{.uid = *uid};
    std::string_view rest = line.substr(space + 1);
    if (version == 3) {
      const std::size_t colon = rest.find(':');
      if (colon == std::string_view::npos) broken(line_no, "no ':' before the file name");
      rec.extensions = std::string(rest.substr(0, colon));
      while (!rec.extensions.empty() && rec.extensions.back() == ' ') rec.extensions.pop_back();
      rest = rest.substr(colon + 1);
    }
    rest = rest.substr(0, rest.find(':'));  // version 1 may name the file with its info part
    if (rest.empty() || rest.find('/') != std::string_view::npos) broken(line_no, "bad file name");
    rec.base = std::string(rest);
    list.records.push_back(std::move(rec));
  }
  if (line_no == 0) throw std::runtime_error("dovecot-uidlist is empty");
  // Dovecot: "if (next_uid <= prev_read_uid) next_uid = prev_read_uid + 1".
  if (list.nextuid <= previous) list.nextuid = previous + 1;
  return list;
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
