// dovecot-uidlist, the UID map of a Dovecot Maildir (maildir-uidlist.c):
//   version 3:  "3 V<uidvalidity> N<nextuid> G<mailbox guid, 32 hex>[ <key><value>...]"
//               "<uid>[ <key><value>...] :<file base name>"
//   version 1 (older Dovecot, Courier's courierimapuiddb) is read too:
//               "1 <uidvalidity> <nextuid>" / "<uid> <file name>".
// One reader for the Maildir source, the archive source and the Maildir
// target, one writer (version 3, what Dovecot writes). The reader keeps every
// good record and lists the lines Dovecot would call broken; each caller
// decides what a broken line means (docs/maildir.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mailmig::maildir {

struct UidRecord {
  std::uint32_t uid = 0;
  std::string extensions;  // "W123 S120" as read (kept when rewriting), usually empty
  std::string base;        // file name up to its first ':'
};

struct Uidlist {
  std::uint32_t uidvalidity = 0;
  std::uint32_t nextuid = 1;
  std::string guid;                // 32 hex digits (version 3)
  std::string header_extra;        // header fields we do not interpret, kept
  std::vector<UidRecord> records;  // ascending UIDs (Dovecot refuses anything else)
};

struct UidlistLine {
  std::size_t line = 0;  // 1-based
  std::string what;
};

struct UidlistRead {
  std::optional<Uidlist> list;  // nullopt: the header is not understood (see `header_error`)
  std::string header_error;
  std::vector<UidlistLine> broken;  // lines Dovecot calls broken, skipped (header flaws included)
};

// Never throws. A missing N (or one not above the last UID) becomes the last
// UID + 1, as Dovecot does; a missing or zero V makes the header unreadable.
UidlistRead parse_uidlist(std::string_view text);
// Version 3, whole; `records` must be ascending.
std::string format_uidlist(const Uidlist& list);

// UID by base name (the first record of a base wins).
std::unordered_map<std::string, std::uint32_t> uids_by_base(const Uidlist& list);

// 128 random bits as 32 lowercase hex digits (Dovecot's guid_128_t).
std::string new_mailbox_guid();

}  // namespace mailmig::maildir
