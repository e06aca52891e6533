#include "nsl/db/group_commit.hpp"

namespace nsl::db {

asio::awaitable<Result> GroupCommit::submit(const Statement& statement) {
  Item item;
  item.statement = &statement;
  auto out = co_await batcher_.submit(std::move(item));
  if (out.error) std::rethrow_exception(out.error);
  co_return std::move(*out.result);
}

}  // namespace nsl::db
