// Renders an Inventory for people (a table per domain) and for scripts (JSON
// with the documented shape: domains/accounts/folders, totals, errors).
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>

#include "engine/inventory.h"

namespace mailmig {

struct TextReportOptions {
  bool folders = true;  // one line per folder under each account
  std::string title;    // first line, e.g. "CommuniGate Pro store /var/CommuniGate"
};

nlohmann::ordered_json inventory_to_json(const Inventory& inventory);
void print_inventory(const Inventory& inventory, const TextReportOptions& options, std::ostream& out);

// "1.5 MiB" style, for people only.
std::string human_bytes(std::uint64_t bytes);

}  // namespace mailmig
