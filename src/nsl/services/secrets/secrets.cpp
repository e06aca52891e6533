#include "nsl/services/secrets/secrets.hpp"

#include "nsl/core/errors.hpp"
#include "nsl/crypto/bytes.hpp"
#include "nsl/services/common/fields.hpp"

namespace nsl::services::secrets {
namespace {

constexpr std::size_t kMaxValue = 64 * 1024;
constexpr int kMaxAttempts = 64;  // versions sealed again when concurrent writes took them first

// The record a sealed secret is bound to.
std::string aad(const std::string& account, const std::string& name, std::int64_t version) {
  return account + "/" + name + "/" + std::to_string(version);
}

// Wipes a clear value when the request is done with it, however it ends.
struct Wiped {
  std::string& v;
  ~Wiped() { crypto::wipe(v.data(), v.size()); }
};

RequestError name_taken(const std::string& name) {
  return RequestError(ErrorKind::conflict, "a secret named " + name + " exists already").with_field("name", "is taken");
}

}  // namespace

std::string valid_name(std::string_view name) { return services::valid_name(name, "name", 128); }

SecretService::SecretService(db::Database& database, enclave::EnclaveClient& enclave, Settings settings)
    : store_(database), enclave_(enclave), settings_(settings) {}

// Seals `value` as the next version of `name` (version 1 only when `create`). The version is bound
// into the sealed value, so it is chosen before sealing; when a concurrent write took it first, a
// create is told the name exists and an update is sealed again under the next number.
asio::awaitable<Metadata> SecretService::store(std::string account, std::string name, std::string value, bool create) {
  const Wiped wipe{value};
  if (value.empty() || value.size() > kMaxValue) throw field_error("value", "must be 1 to 65536 bytes");
  const auto bytes = static_cast<std::int64_t>(value.size());
  for (int attempt = 1;; ++attempt) {
    const auto newest = co_await store_.newest_version(account, name);
    const auto version = newest + 1;
    if (create && version != 1) throw name_taken(name);
    if (!create && version == 1) throw NotFound("no secret " + name);
    auto sealed = co_await enclave_.seal("secret", crypto::as_bytes(aad(account, name, version)), crypto::as_bytes(value));
    Metadata stored;
    const auto outcome = co_await store_.insert(account, name, version, std::move(sealed), bytes, create,
                                                settings_.secrets_per_account, settings_.versions_kept, stored);
    if (outcome == StoreOutcome::stored) co_return stored;
    if (outcome == StoreOutcome::gone) throw NotFound("no secret " + name);
    if (outcome == StoreOutcome::over_quota) {
      throw RequestError(ErrorKind::conflict, "the quota of " + std::to_string(settings_.secrets_per_account) +
                                                  " secrets is used up (Quotas:SecretsPerAccount); delete one first");
    }
    if (create) throw name_taken(name);  // version_taken: a concurrent create won
    if (attempt == kMaxAttempts) {
      throw RequestError(ErrorKind::conflict, "secret " + name + " is being written by too many requests at once; try again");
    }
  }
}

asio::awaitable<Metadata> SecretService::create(std::string account, std::string name, std::string value) {
  co_return co_await store(std::move(account), std::move(name), std::move(value), true);
}

asio::awaitable<Metadata> SecretService::update(std::string account, std::string name, std::string value) {
  co_return co_await store(std::move(account), std::move(name), std::move(value), false);
}

asio::awaitable<std::vector<Metadata>> SecretService::list(std::string account) { co_return co_await store_.list(account); }

asio::awaitable<Metadata> SecretService::metadata(std::string account, std::string name) {
  auto m = co_await store_.metadata(account, name);
  if (!m) throw NotFound("no secret " + name);
  co_return *m;
}

asio::awaitable<std::optional<std::string>> SecretService::value(std::string account, std::string name) {
  const auto sealed = co_await store_.newest(account, name);
  std::optional<std::string> out;
  if (!sealed) co_return out;
  auto bytes = co_await enclave_.open("secret", crypto::as_bytes(aad(account, name, sealed->version)), sealed->sealed);
  out = std::string(bytes.begin(), bytes.end());
  crypto::wipe(bytes.data(), bytes.size());
  co_return out;
}

asio::awaitable<void> SecretService::remove(std::string account, std::string name) {
  const auto removed = co_await store_.remove(account, name);
  if (removed == 0) throw NotFound("no secret " + name);
}

}  // namespace nsl::services::secrets
