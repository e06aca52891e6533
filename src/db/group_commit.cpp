#include "nsl/db/group_commit.hpp"

#include <boost/asio/experimental/concurrent_channel.hpp>

namespace nsl::db {

// The caller awaits a channel bound to the database's own thread pool (not to the caller's
// executor, which may be gone when the leader lets go of its reference).
struct GroupCommit::Queued {
  Item item;
  std::shared_ptr<asio::experimental::concurrent_channel<void(boost::system::error_code)>> done;
};

asio::awaitable<Result> GroupCommit::submit(const Statement& statement) {
  auto q = std::make_shared<Queued>();
  q->item.statement = &statement;
  q->done = std::make_shared<asio::experimental::concurrent_channel<void(boost::system::error_code)>>(pool_.executor(), 1);
  bool lead_now = false;
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(q);
    if (leaders_ < max_leaders_) {
      ++leaders_;
      lead_now = true;
    }
  }
  if (lead_now) pool_.post([this] { lead(); });
  co_await q->done->async_receive(asio::as_tuple(asio::use_awaitable));
  if (q->item.error) std::rethrow_exception(q->item.error);
  co_return std::move(*q->item.result);
}

void GroupCommit::lead() {
  while (true) {
    std::vector<std::shared_ptr<Queued>> batch;
    {
      std::lock_guard lock(mutex_);
      if (queue_.empty()) {
        --leaders_;
        return;
      }
      while (!queue_.empty() && batch.size() < max_batch_) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    std::vector<Item*> items;
    items.reserve(batch.size());
    for (auto& q : batch) items.push_back(&q->item);
    try {
      execute_(items);
    } catch (...) {
      for (auto* i : items) {
        if (!i->result && !i->error) i->error = std::current_exception();
      }
    }
    for (auto& q : batch) {
      if (!q->item.result && !q->item.error) {
        q->item.error = std::make_exception_ptr(DatabaseError(DatabaseError::Kind::other, "the write was not executed"));
      }
      q->done->try_send(boost::system::error_code{});
    }
  }
}

}  // namespace nsl::db
