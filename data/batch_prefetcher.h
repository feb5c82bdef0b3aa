// Builds the coming batches of a BatchStream on worker threads while the trainer runs the
// current one, so tokenization and packing overlap the GPU instead of stalling it. Batch b is
// a pure function of (seed, b), so workers build different batches independently and the
// trainer still receives them in order, identical to building them inline.
// Must not include model/, optim/ or trainer/; no torch here.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "data/batches.h"

namespace symtune {

class BatchPrefetcher {
 public:
  // Starts `workers` threads (>= 1) building batches first, first + 1, ..., at most `depth`
  // ahead of the one last handed out. `stream` must outlive the prefetcher.
  BatchPrefetcher(const BatchStream& stream, uint64_t first, int workers, int depth);
  ~BatchPrefetcher();
  BatchPrefetcher(const BatchPrefetcher&) = delete;
  BatchPrefetcher& operator=(const BatchPrefetcher&) = delete;

  // The next batch in order, waiting for it if needed; rethrows a worker's error for it.
  Batch next();
  uint64_t next_batch() const { return next_; }  // index of the batch next() returns

 private:
  void work();

  const BatchStream& stream_;
  const uint64_t depth_;
  uint64_t next_;     // handed out next
  uint64_t claimed_;  // next batch a worker may start
  std::map<uint64_t, Batch> ready_;
  std::map<uint64_t, std::exception_ptr> failed_;
  bool stopping_ = false;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::thread> threads_;
};

}  // namespace symtune
