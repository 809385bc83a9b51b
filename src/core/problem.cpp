#include "core/problem.h"

#include <fmt/format.h>

#include "core/printable.h"

namespace mailmig {

const char* scope_name(Scope scope) {
  switch (scope) {
    case Scope::Message:
      return "message";
    case Scope::Folder:
      return "folder";
    case Scope::Account:
      return "account";
    case Scope::Domain:
      return "domain";
    case Scope::Store:
      return "store";
  }
  return "unknown";
}

std::string Problem::describe() const {
  std::string where;
  for (const std::string* part : {&domain, &account, &folder}) {
    if (part->empty()) continue;
    if (!where.empty()) where += '/';
    where += *part;
  }
  std::string out = where;
  if (!file.empty()) {
    if (!out.empty()) out += ": ";
    out += file;
    if (line) {
      out += fmt::format(":{}", *line);
      if (column) out += fmt::format(":{}", *column);
    }
    if (offset) out += fmt::format(" (offset {})", *offset);
  }
  if (!out.empty()) out += ": ";
  out += message;
  // Names and messages come from the store or a server: shown, never obeyed.
  return printable(out);
}

void ProblemSink::add(Problem problem) {
  std::lock_guard lock(mutex_);
  problems_.push_back(std::move(problem));
}

std::vector<Problem> ProblemSink::snapshot() const {
  std::lock_guard lock(mutex_);
  return problems_;
}

std::size_t ProblemSink::count() const {
  std::lock_guard lock(mutex_);
  return problems_.size();
}

}  // namespace mailmig
