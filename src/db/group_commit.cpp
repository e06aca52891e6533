#include "nsl/db/group_commit.hpp"

namespace nsl::db {

Result GroupCommit::submit(Item& item, const Execute& execute) {
  std::unique_lock lock(mutex_);
  queue_.push_back(&item);
  while (!item.done) {
    if (leaders_ >= max_leaders_ || queue_.empty()) {
      done_.wait(lock);
      continue;
    }
    ++leaders_;
    std::vector<Item*> batch;
    while (!queue_.empty() && batch.size() < max_batch_) {
      batch.push_back(queue_.front());
      queue_.pop_front();
    }
    lock.unlock();
    try {
      execute(batch);
    } catch (...) {
      for (auto* b : batch) {
        if (!b->result && !b->error) b->error = std::current_exception();
      }
    }
    lock.lock();
    for (auto* b : batch) b->done = true;
    --leaders_;
    done_.notify_all();
  }
  if (item.error) std::rethrow_exception(item.error);
  return std::move(*item.result);
}

}  // namespace nsl::db
