// The one rule for retrying a lost connection, used by every layer that
// reconnects (the engine's target connection, the IMAP and SFTP sources):
// after a failure wait, then try again, the wait doubling each time; give up
// after `attempts` failures in a row without progress. A failure after some
// progress (a message confirmed since the previous failure) starts the count
// again, so a link that drops every few hundred KB still finishes while a dead
// one is given up on after a bounded time.
//
// Exactly one layer retries a given connection: a layer that has given up
// reports the failure with a scope (ScopedError) so no outer layer retries it
// again (which would multiply the attempts).
#pragma once

#include <chrono>
#include <functional>
#include <optional>

namespace mailmig {

struct RetryPolicy {
  unsigned attempts = 3;                    // retries in a row without progress
  std::chrono::milliseconds backoff{1000};  // the first wait; each further one doubles
  // How to wait; empty: std::this_thread::sleep_for (tests pass a fake clock).
  std::function<void(std::chrono::milliseconds)> sleep;
};

// The count of one connection's failures under a policy.
class Retries {
 public:
  explicit Retries(RetryPolicy policy) : policy_(std::move(policy)) {}

  // Called after a failure: the wait before the next attempt, or nothing when
  // the policy gives up. `progress`: something was achieved since the
  // previous failure (then this failure is the first of a new run).
  std::optional<std::chrono::milliseconds> after_failure(bool progress = false);
  // Something was achieved: the next failure is counted from one again.
  void progress() { failures_ = 0; }
  // Waits as the policy says.
  void wait(std::chrono::milliseconds how_long) const;
  // Failures in a row counted so far (the one that made after_failure() give
  // up included).
  [[nodiscard]] unsigned failures() const { return failures_; }
  [[nodiscard]] const RetryPolicy& policy() const { return policy_; }

 private:
  RetryPolicy policy_;
  unsigned failures_ = 0;
};

}  // namespace mailmig
