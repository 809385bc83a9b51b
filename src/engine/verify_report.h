// The verify report in its three forms: the summary for people on a terminal,
// the JSON contract (docs/verify-report.schema.json) and one self-contained
// HTML page (inline CSS, a few lines of inline JS to sort tables, no external
// resources; every text escaped).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/problem.h"
#include "engine/verify.h"

namespace mailmig {

struct VerifyRun {
  std::string started;   // ISO 8601
  std::string finished;  // ISO 8601
  double seconds = 0;
  std::string source;                     // description of the source
  std::string target;                     // description of the target
  std::optional<double> sampled_percent;  // set when --sample was given
  std::string state;                      // the state database used, empty when none
  std::vector<AccountCheck> accounts;
  std::vector<Problem> problems;
};

struct VerifyTotals {
  std::uint64_t accounts = 0;
  std::uint64_t accounts_ok = 0;
  std::uint64_t folders = 0;
  std::uint64_t messages_source = 0;
  std::uint64_t messages_target = 0;
  std::uint64_t bytes_source = 0;
  std::uint64_t bytes_target = 0;
  std::uint64_t checked = 0;
  std::uint64_t differences = 0;
  std::map<DiffKind, std::uint64_t> by_kind;
};
VerifyTotals verify_totals(const VerifyRun& run);

// True when nothing differs, every login worked and no problem was found.
bool verify_clean(const VerifyRun& run);

nlohmann::ordered_json verify_report_json(const VerifyRun& run);
std::string verify_report_html(const VerifyRun& run);
// One line per account, the totals, then the first `max_differences`
// differences (all when 0) and every problem.
std::string verify_report_text(const VerifyRun& run, std::size_t max_differences);

// Escapes & < > " ' for HTML text and attribute values.
std::string html_escape(const std::string& text);

}  // namespace mailmig
