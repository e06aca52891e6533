#include "nsl/services/keys/module.hpp"

#include "nsl/services/keys/keys.hpp"
#include "nsl/services/keys/routes.hpp"
#include "nsl/services/keys/schema.hpp"

namespace nsl::services::keys {
namespace {

class KeysService final : public Service {
 public:
  explicit KeysService(Platform& p) : keys_(p.database, p.enclave, p.cache, p.settings.get<Settings>()) {}
  void add_routes(http::Router& router) override { keys::add_routes(router, keys_); }

 private:
  KeyService keys_;
};

}  // namespace

const Module& module() {
  static const Module m{"keys", &settings_spec(), &make_service<KeysService>, &migrations};
  return m;
}

}  // namespace nsl::services::keys
