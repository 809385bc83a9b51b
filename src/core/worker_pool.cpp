#include "core/worker_pool.h"

#include <algorithm>
#include <thread>
#include <vector>

namespace mailmig {

void run_jobs(std::size_t jobs, unsigned threads, const std::function<void(std::size_t)>& job,
              const std::atomic<bool>* stop) {
  std::atomic<std::size_t> next{0};
  const auto worker = [&] {
    for (std::size_t i = next++; i < jobs && (stop == nullptr || !stop->load()); i = next++) job(i);
  };
  const auto count =
      static_cast<unsigned>(std::clamp<std::size_t>(threads, 1, std::max<std::size_t>(jobs, 1)));
  std::vector<std::jthread> pool;
  pool.reserve(count - 1);
  for (unsigned t = 1; t < count; ++t) pool.emplace_back(worker);
  worker();
}

}  // namespace mailmig
