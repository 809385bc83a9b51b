// A Postfix virtual alias table (virtual_alias_maps, postmap(1) input): one
// "address target[,target...]" line per alias, sorted, so the same aliases
// always give the same bytes and a re-run replaces the file identically.
#pragma once

#include <string>
#include <vector>

namespace mailmig {

struct AliasEntry {
  std::string address;               // "local@domain"
  std::vector<std::string> targets;  // "local@domain"
};

// The table's text. Throws std::invalid_argument for an address or target
// Postfix would read differently (empty, whitespace, ',' or '#' in it).
std::string format_virtual_aliases(std::vector<AliasEntry> aliases);

// Writes the table to `path` atomically: a temporary file in the same
// directory, synced, then renamed over `path` (mode 0644: it is no secret).
// Throws IoError.
void write_virtual_aliases(const std::string& path, const std::vector<AliasEntry>& aliases);

}  // namespace mailmig
