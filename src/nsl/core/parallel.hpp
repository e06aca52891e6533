#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <memory>
#include <vector>

#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/this_coro.hpp>

#include "nsl/core/asio.hpp"

namespace nsl {
namespace detail {

// One worker of for_each_bounded: takes the next index until none is left.
template <class Task>
asio::awaitable<void> bounded_worker(std::shared_ptr<std::atomic<std::size_t>> cursor,
                                     std::shared_ptr<std::vector<std::exception_ptr>> failures, std::size_t total, Task& work) {
  for (std::size_t i = cursor->fetch_add(1); i < total; i = cursor->fetch_add(1)) {
    try {
      co_await work(i);
    } catch (...) {
      (*failures)[i] = std::current_exception();
    }
  }
}

}  // namespace detail

/// Runs `task(i)` for every i in [0, count) with at most `limit` of them in flight at once, on
/// the calling coroutine's executor, and returns when all have finished. Tasks keep their
/// results in slots the caller prepared (one per index), so nothing is shared between them.
/// If any task throws, the first exception (by index) is rethrown after all have finished.
template <class Task>
asio::awaitable<void> for_each_bounded(std::size_t count, std::size_t limit, Task task) {
  if (count == 0) co_return;
  const auto executor = co_await asio::this_coro::executor;
  const std::size_t workers = std::max<std::size_t>(1, std::min(limit, count));
  auto next = std::make_shared<std::atomic<std::size_t>>(0);
  auto errors = std::make_shared<std::vector<std::exception_ptr>>(count);
  // Each worker reports its end on a channel on the caller's executor; everything that touches
  // the channel runs there, so it never outlives the context it belongs to.
  auto finished = std::make_shared<asio::experimental::concurrent_channel<void(boost::system::error_code)>>(executor, workers);
  for (std::size_t w = 0; w < workers; ++w) {
    asio::co_spawn(executor, detail::bounded_worker(next, errors, count, task),
                   [finished](std::exception_ptr) { finished->try_send(boost::system::error_code{}); });
  }
  for (std::size_t w = 0; w < workers; ++w) co_await finished->async_receive(asio::as_tuple(asio::use_awaitable));
  for (const auto& e : *errors) {
    if (e) std::rethrow_exception(e);
  }
}

}  // namespace nsl
