#include "nsl/services/audit/module.hpp"

#include "nsl/services/audit/audit.hpp"
#include "nsl/services/audit/routes.hpp"

namespace nsl::services::audit {
namespace {

class Audit final : public Service {
 public:
  explicit Audit(Platform& p) : enabled_(p.settings.security.enable_audit_logging), log_(p.database) {}
  // Without the audit trail there is nothing to read: the route does not exist (404).
  void add_routes(http::Router& router) override {
    if (enabled_) audit::add_routes(router, log_);
  }

 private:
  bool enabled_;
  AuditLog log_;
};

}  // namespace

const Module& module() {
  static const Module m{"audit", nullptr, &make_service<Audit>};
  return m;
}

}  // namespace nsl::services::audit
