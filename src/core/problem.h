// A problem found while reading or writing mail, scoped like isync's
// DRV_MSG_BAD / DRV_BOX_BAD / DRV_STORE_BAD: the engine skips exactly that
// scope, records it, and reports every problem at the end of the run.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace mailmig {

enum class Scope { Message, Folder, Account, Domain, Store };

struct Problem {
  Scope scope = Scope::Message;
  std::string domain;
  std::string account;
  std::string folder;
  std::string file;
  std::optional<std::uint64_t> offset;  // byte offset in `file`
  std::optional<std::uint32_t> line;    // 1-based line in `file` (text files)
  std::optional<std::uint32_t> column;  // 1-based column, with `line`
  std::string message;

  // "domain/account/folder: file:line:col (offset N): message" with the empty parts left out.
  [[nodiscard]] std::string describe() const;
};

const char* scope_name(Scope scope);

// Collects problems from any thread; readers add context they know and pass
// the sink down, so the innermost reader needs to know only the file.
class ProblemSink {
 public:
  void add(Problem problem);
  [[nodiscard]] std::vector<Problem> snapshot() const;
  [[nodiscard]] std::size_t count() const;

 private:
  mutable std::mutex mutex_;
  std::vector<Problem> problems_;
};

}  // namespace mailmig
