#include "data/batch_prefetcher.h"

#include "common/error.h"

namespace symtune {

BatchPrefetcher::BatchPrefetcher(const BatchStream& stream, uint64_t first, int workers, int depth)
    : stream_(stream), depth_(static_cast<uint64_t>(std::max(depth, 1))), next_(first), claimed_(first) {
  if (workers < 1) throw Error("batch prefetcher: needs at least one worker thread");
  try {
    for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { work(); });
  } catch (...) {  // a thread that could not start: stop and join the ones that did
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    for (auto& t : threads_) t.join();
    throw;
  }
}

BatchPrefetcher::~BatchPrefetcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (auto& t : threads_) t.join();
}

void BatchPrefetcher::work() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    changed_.wait(lock, [this] { return stopping_ || claimed_ < next_ + depth_; });
    if (stopping_) return;
    const uint64_t b = claimed_++;
    lock.unlock();
    Batch batch;
    std::exception_ptr error;
    try {
      batch = stream_.batch(b);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    if (error) failed_[b] = error;
    else ready_.emplace(b, std::move(batch));
    changed_.notify_all();
  }
}

Batch BatchPrefetcher::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return ready_.count(next_) > 0 || failed_.count(next_) > 0; });
  if (auto f = failed_.find(next_); f != failed_.end()) std::rethrow_exception(f->second);
  Batch batch = std::move(ready_.at(next_));
  ready_.erase(next_++);
  lock.unlock();
  changed_.notify_all();  // room for one more ahead
  return batch;
}

}  // namespace symtune
