// `mailmig config takeover`: backup, plan, optional data move, then the new
// configuration staged next to the destination and swapped in atomically.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/data_mover.h"
#include "config/rules.h"
#include "config/takeover_plan.h"

namespace mailmig::config {

struct TakeoverRequest {
  std::string from, to;
  Strategy strategy = Strategy::Merge;
  LdapSchema ldap_schema = LdapSchema::Keep;
  std::optional<std::string> old_defaults;
  std::optional<std::string> move_from, move_to;
  std::string owner;       // USER:GROUP; empty: the rules' owner
  std::string backup_dir;  // empty: next to --to
  bool dry_run = false;
  std::function<void(std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t)> move_progress;
};

struct TakeoverOutcome {
  Plan plan;
  std::vector<std::string> backups;  // directories written
  std::optional<MoveResult> move;
  bool written = false;  // the destination was replaced
};

// A bad argument (a directory that does not exist): exit 2.
class TakeoverUsageError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Throws TakeoverUsageError, PlanError, RulesError, IoError; on any exception
// the destination is as it was.
TakeoverOutcome run_takeover(const Rules& rules, const TakeoverRequest& request);

}  // namespace mailmig::config
