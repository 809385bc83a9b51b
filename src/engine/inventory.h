// The overview of a source: domains -> accounts -> folders with message
// counts and sizes as an IMAP server will report them, plus every problem met.
// It is the first thing an administrator runs and what later verification is
// compared with.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/problem.h"
#include "engine/selection.h"
#include "source/source.h"

namespace mailmig {

struct MessageDetail {  // only with InventoryOptions::messages
  MessageInfo info;
  std::string sha256;  // of the bytes a target receives (CRLF form)
};

struct FolderSummary {
  FolderInfo info;
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;  // sum of RFC822.SIZE
  std::vector<MessageDetail> details;
};

struct AccountSummary {
  std::string name;
  std::string real_name;
  std::string location;
  std::string kind;
  PasswordInfo::Kind password = PasswordInfo::Kind::None;  // never the password itself
  std::string password_scheme;
  std::vector<FolderSummary> folders;
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
};

struct DomainSummary {
  DomainInfo info;
  std::vector<AccountSummary> accounts;
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
};

struct Inventory {
  std::vector<DomainSummary> domains;
  std::uint64_t accounts = 0;
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
  std::vector<Problem> problems;
};

struct InventoryOptions {
  Selection selection;
  bool messages = false;  // list every message with its SHA-256 (reads every byte twice)
  unsigned jobs = 0;      // accounts scanned in parallel; 0 = twice the cores, at least 4
};

Inventory take_inventory(Source& source, const InventoryOptions& options);

}  // namespace mailmig
