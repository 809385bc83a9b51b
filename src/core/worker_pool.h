// Runs N independent jobs (accounts, mostly) over K threads: each thread takes
// the next job index until none is left or the stop flag is raised. The one
// place the commands' "accounts in parallel" loop lives.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>

namespace mailmig {

// Calls job(i) once for each i in [0, jobs) not skipped by `stop`, on at most
// `threads` threads (the caller's own thread is one of them), and returns when
// all have finished. A raised `stop` lets jobs in flight finish and starts no
// new one. `threads` 0 counts as 1; never more threads than jobs.
// job() must not throw: an exception escaping a worker thread ends the process.
void run_jobs(std::size_t jobs, unsigned threads, const std::function<void(std::size_t)>& job,
              const std::atomic<bool>* stop = nullptr);

}  // namespace mailmig
