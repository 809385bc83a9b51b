// dovecot-uidlist, the UID map of a Dovecot Maildir (maildir-uidlist.c):
//   version 3:  "3 V<uidvalidity> N<nextuid> G<mailbox guid, 32 hex>[ <key><value>...]"
//               "<uid>[ <key><value>...] :<file name up to the ':' of its info part>"
//   version 1 (older Dovecot, Courier's courierimapuiddb) is read too:
//               "1 <uidvalidity> <nextuid>" / "<uid> <file name>".
// We always write version 3, whole, to dovecot-uidlist.tmp renamed into place
// while holding dovecot-uidlist.lock (Dovecot's "recreate").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailmig::maildir {

struct UidRecord {
  std::uint32_t uid = 0;
  std::string extensions;  // " W123 ..." as read (kept when rewriting), usually empty
  std::string base;        // file name without the ":2,..." info part
};

struct Uidlist {
  std::uint32_t uidvalidity = 0;
  std::uint32_t nextuid = 1;
  std::string guid;                // 32 hex digits
  std::string header_extra;        // header fields we do not interpret, kept
  std::vector<UidRecord> records;  // ascending UIDs (Dovecot refuses anything else)
};

// Throws std::runtime_error with the line number for anything Dovecot would
// call broken: we never write a folder whose UIDs we cannot read.
Uidlist parse_uidlist(std::string_view text);
std::string format_uidlist(const Uidlist& list);
// 128 random bits as 32 lowercase hex digits (Dovecot's guid_128_t).
std::string new_mailbox_guid();

}  // namespace mailmig::maildir
