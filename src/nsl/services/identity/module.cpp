#include "nsl/services/identity/module.hpp"

#include "nsl/identity/schema.hpp"
#include "nsl/services/identity/identity.hpp"
#include "nsl/services/identity/routes.hpp"

namespace nsl::services::identity {
namespace {

class Identity final : public Service {
 public:
  explicit Identity(Platform& p) : identity_(p.database, p.authenticator, p.settings.get<Settings>(), p.sink.get("identity")) {}
  void add_routes(http::Router& router) override { identity::add_routes(router, identity_); }

 private:
  IdentityService identity_;
};

}  // namespace

// The identity tables are the platform's (src/nsl/identity/schema.cpp): the pipeline's
// authenticator reads them on every request, and every service's rows name an account. This
// module registers them, and their retention, as the service that writes them.
const Module& module() {
  static const Module m{"identity", &settings_spec(), &make_service<Identity>, &nsl::identity::migrations,
                        &nsl::identity::retention};
  return m;
}

}  // namespace nsl::services::identity
