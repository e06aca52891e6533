#include "nsl/services/storage/module.hpp"

#include "nsl/services/storage/routes.hpp"
#include "nsl/services/storage/schema.hpp"
#include "nsl/services/storage/storage.hpp"

namespace nsl::services::storage {
namespace {

class Storage final : public Service {
 public:
  explicit Storage(Platform& p)
      : log_(p.sink.get("storage")),
        storage_(p.database, p.enclave, p.cache, p.settings.get<Settings>(), p.registry, p.sink.get("storage")) {}
  void add_routes(http::Router& router) override { storage::add_routes(router, storage_); }
  asio::awaitable<void> run() override { return storage_.run(); }
  void stop() override { storage_.stop(); }
  asio::awaitable<void> drain() override {
    try {
      co_await storage_.flush_access_counts();
    } catch (const std::exception& e) {
      log_.warn("storage access counts not written at shutdown", {{"error", e.what()}});
    }
  }

 private:
  log::Logger log_;
  StorageService storage_;
};

}  // namespace

const Module& module() {
  static const Module m{"storage", &settings_spec(), &make_service<Storage>, &migrations, &retention};
  return m;
}

}  // namespace nsl::services::storage
