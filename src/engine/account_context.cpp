#include "engine/account_context.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace mailmig {

namespace {
constexpr std::size_t kShortSha = 12;  // identity prefix in per-message log lines
}  // namespace

void AccountContext::problem(Problem p, const std::string& folder) const {
  p.domain = account.domain;
  p.account = account.name;
  if (p.folder.empty()) p.folder = folder;
  sink.add(std::move(p));
}

void AccountContext::log_message(const char* action, const std::string& folder, const MessageKey& message_key,
                                 const MessageInfo* m, std::optional<std::uint32_t> uid) const {
  const auto level = options.dry_run ? spdlog::level::info : spdlog::level::debug;
  spdlog::log(level, "{} {}: {} sha256 {} #{}, source {}, target uid {}", key, folder, action,
              message_key.sha256.substr(0, kShortSha), message_key.ordinal,
              m != nullptr ? fmt::format("{} offset {}", m->file, m->offset) : std::string("gone"),
              uid ? std::to_string(*uid) : std::string("unknown"));
}

}  // namespace mailmig
