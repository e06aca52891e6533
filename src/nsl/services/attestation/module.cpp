#include "nsl/services/attestation/module.hpp"

#include "nsl/services/attestation/routes.hpp"

namespace nsl::services::attestation {
namespace {

class Attestation final : public Service {
 public:
  explicit Attestation(Platform& p) : attestation_(p.enclave) {}
  void add_routes(http::Router& router) override { attestation::add_routes(router, attestation_); }

 private:
  AttestationService attestation_;
};

}  // namespace

const Module& module() {
  static const Module m{"attestation", nullptr, &make_service<Attestation>};
  return m;
}

}  // namespace nsl::services::attestation
