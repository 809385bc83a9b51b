#include "core/retry_policy.h"

#include <algorithm>
#include <thread>

namespace mailmig {

std::optional<std::chrono::milliseconds> Retries::after_failure(bool progress) {
  if (progress) failures_ = 0;
  if (++failures_ > policy_.attempts) return std::nullopt;
  // Capped shift: a policy with many attempts must not overflow the wait.
  const unsigned doubling = std::min(failures_ - 1, 20U);
  return policy_.backoff * (1U << doubling);
}

void Retries::wait(std::chrono::milliseconds how_long) const {
  if (policy_.sleep) {
    policy_.sleep(how_long);
  } else {
    std::this_thread::sleep_for(how_long);
  }
}

}  // namespace mailmig
