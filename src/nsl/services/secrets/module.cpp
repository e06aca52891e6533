#include "nsl/services/secrets/module.hpp"

#include "nsl/services/secrets/routes.hpp"
#include "nsl/services/secrets/schema.hpp"
#include "nsl/services/secrets/secrets.hpp"

namespace nsl::services::secrets {
namespace {

class Secrets final : public Service {
 public:
  explicit Secrets(Platform& p) : secrets_(p.database, p.enclave, p.settings.get<Settings>()) {}
  void add_routes(http::Router& router) override { secrets::add_routes(router, secrets_); }

 private:
  SecretService secrets_;
};

}  // namespace

const Module& module() {
  static const Module m{"secrets", &settings_spec(), &make_service<Secrets>, &migrations};
  return m;
}

}  // namespace nsl::services::secrets
