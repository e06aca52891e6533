#pragma once

#include <exception>
#include <optional>

#include "nsl/core/asio.hpp"

namespace nsl::testing {

/// Runs one coroutine to completion on a private io_context and returns its result (or rethrows
/// its exception): lets a test call asynchronous APIs one step at a time.
template <class T>
T run_sync(asio::awaitable<T> aw) {
  asio::io_context ioc;
  std::optional<T> out;
  std::exception_ptr error;
  asio::co_spawn(ioc, std::move(aw), [&](std::exception_ptr e, T v) {
    error = e;
    if (!e) out.emplace(std::move(v));
  });
  ioc.run();
  if (error) std::rethrow_exception(error);
  return std::move(*out);
}

/// run_sync for a coroutine without a result.
inline void run_sync(asio::awaitable<void> aw) {
  asio::io_context ioc;
  std::exception_ptr error;
  asio::co_spawn(ioc, std::move(aw), [&](std::exception_ptr e) { error = e; });
  ioc.run();
  if (error) std::rethrow_exception(error);
}

}  // namespace nsl::testing
