#include "core/worker_pool.h"

#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace mailmig {
namespace {

TEST(WorkerPool, RunsEveryJobExactlyOnce) {
  std::vector<std::atomic<int>> runs(100);
  run_jobs(runs.size(), 4, [&](std::size_t i) { ++runs[i]; });
  for (const auto& r : runs) EXPECT_EQ(1, r.load());
}

TEST(WorkerPool, UsesAtMostTheGivenThreadsAndNoMoreThanJobs) {
  std::mutex m;
  std::set<std::thread::id> seen;
  std::atomic<int> running{0};
  std::atomic<int> peak{0};
  run_jobs(40, 3, [&](std::size_t) {
    const int now = ++running;
    int p = peak.load();
    while (now > p && !peak.compare_exchange_weak(p, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    {
      std::lock_guard lock(m);
      seen.insert(std::this_thread::get_id());
    }
    --running;
  });
  EXPECT_LE(peak.load(), 3);
  EXPECT_LE(seen.size(), 3U);

  seen.clear();
  run_jobs(1, 8, [&](std::size_t) { seen.insert(std::this_thread::get_id()); });
  EXPECT_EQ(std::set<std::thread::id>{std::this_thread::get_id()}, seen);  // one job: the caller's thread
}

TEST(WorkerPool, ZeroThreadsOrZeroJobsStillWork) {
  int runs = 0;
  run_jobs(3, 0, [&](std::size_t) { ++runs; });
  EXPECT_EQ(3, runs);
  run_jobs(0, 4, [&](std::size_t) { ++runs; });
  EXPECT_EQ(3, runs);
}

TEST(WorkerPool, StopStartsNoNewJob) {
  std::atomic<bool> stop{false};
  std::vector<int> order;
  run_jobs(
      10, 1,
      [&](std::size_t i) {
        order.push_back(static_cast<int>(i));
        if (i == 3) stop = true;  // the job in flight finishes, no later one starts
      },
      &stop);
  EXPECT_EQ((std::vector<int>{0, 1, 2, 3}), order);
}

}  // namespace
}  // namespace mailmig
