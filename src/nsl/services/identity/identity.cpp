#include "nsl/services/identity/identity.hpp"

#include <stdexcept>

#include "nsl/core/errors.hpp"
#include "nsl/core/ids.hpp"
#include "nsl/core/strings.hpp"
#include "nsl/crypto/symmetric.hpp"
#include "nsl/http/types.hpp"
#include "nsl/services/identity/wallet.hpp"

namespace nsl::services::identity {
namespace {

using nsl::identity::credential_hash;
using nsl::identity::role_name;
using nsl::identity::role_permissions;

RequestError unauthorized(const std::string& why) {
  return std::move(RequestError(ErrorKind::unauthorized, why).with_header("WWW-Authenticate", "Bearer"));
}

std::string random_hex(std::size_t bytes) { return crypto::to_hex(crypto::random_bytes(bytes)); }

Role role_of(const Account& account) { return nsl::identity::parse_role(account.role).value_or(Role::user); }

std::string new_refresh_token() { return "nslr_" + random_hex(32); }

/// A new account known by name: its row, the lookup and hash of its first key, and the key.
struct NewAccount {
  Account account;
  std::string lookup;
  std::string api_key;
};

NewAccount new_account(const std::string& name, Role role) {
  if (const auto why = refused_account_name(name)) throw std::invalid_argument(*why);
  NewAccount out;
  out.account = {random_uuid(), name, "name", role_name(role), false, {}};
  out.api_key = nsl::identity::new_api_key(out.lookup);
  return out;
}

std::string taken(const std::string& name) { return "an account named \"" + name + "\" exists already"; }

}  // namespace

std::vector<std::string> within(std::vector<std::string> wanted, const std::vector<std::string>& granted, const char* whose) {
  if (wanted.empty()) return granted;
  for (const auto& p : wanted) {
    if (!nsl::identity::allows(granted, p)) {
      throw RequestError(ErrorKind::forbidden, "a key cannot carry " + p + ", which " + whose + " lacks");
    }
  }
  return wanted;
}

std::optional<std::string> refused_account_name(const std::string& name) {
  // 100 characters, and never more than 400 bytes (a name from the command line is not checked as UTF-8).
  if (name.empty() || utf8_length(name) > 100 || name.size() > 400) return "the account name must be 1 to 100 characters";
  if (http::address_space_of(name) != http::AddressSpace::none) {
    return "the account name has the form of a wallet address, which only wallet sign-in may take";
  }
  return std::nullopt;
}

CreatedAccount create_account(db::Connection& c, const std::string& name, Role role) {
  auto made = new_account(name, role);
  if (!IdentityStore::insert_account(c, made.account, made.lookup, credential_hash(made.api_key), role_permissions(role))) {
    throw std::invalid_argument(taken(name));
  }
  return {std::move(made.account), std::move(made.api_key)};
}

IdentityService::IdentityService(db::Database& database, nsl::identity::Authenticator& authenticator, Settings settings,
                                 log::Logger log)
    : store_(database), authenticator_(authenticator), settings_(settings), log_(std::move(log)) {}

asio::awaitable<Tokens> IdentityService::issue(const Account& account, std::vector<std::string> scope, std::string family,
                                               std::string api_key_id, std::optional<std::string> refresh) {
  nsl::identity::Claims claims;
  claims.subject = account.id;
  claims.name = account.name;
  claims.role = account.role;
  claims.scope = scope;
  claims.api_key_id = api_key_id;
  auto token = co_await authenticator_.sign(claims);
  const auto& s = authenticator_.settings();
  if (!refresh) {
    refresh = new_refresh_token();
    co_await store_.insert_refresh(account.id, family, credential_hash(*refresh), scope, db::utc_now_text(s.refresh_ttl),
                                   api_key_id);
  }
  co_return Tokens{std::move(token), s.access_ttl.count(), std::move(*refresh), s.refresh_ttl.count(), std::move(scope)};
}

asio::awaitable<Tokens> IdentityService::exchange_api_key(std::string api_key) {
  const auto lookup = nsl::identity::api_key_lookup(api_key);
  if (!lookup) throw unauthorized("the API key is not valid");
  const auto holder = co_await store_.key_holder(*lookup);
  if (!holder || !nsl::identity::same_hash(holder->hash, credential_hash(api_key)) || holder->revoked ||
      holder->account.disabled) {
    throw unauthorized("the API key is not valid");
  }
  auto scope = nsl::identity::intersect(role_permissions(role_of(holder->account)), holder->permissions);
  co_return co_await issue(holder->account, std::move(scope), random_uuid(), holder->key_id);
}

asio::awaitable<Tokens> IdentityService::refresh(std::string refresh_token) {
  const auto next = new_refresh_token();
  const auto outcome = co_await store_.spend_refresh(credential_hash(refresh_token), credential_hash(next),
                                                     db::utc_now_text(authenticator_.settings().refresh_ttl));
  if (const auto* refused = std::get_if<RefreshRefused>(&outcome)) {
    switch (refused->why) {
      case RefreshRefused::unknown:
        throw unauthorized("the refresh token is not valid");
      case RefreshRefused::reused:
        log_.warn("refresh token reused: its family is revoked", {{"family", refused->family}});
        throw unauthorized("the refresh token was used before: every token of its family is revoked");
      case RefreshRefused::revoked:
        throw unauthorized("the refresh token has been revoked");
      case RefreshRefused::expired:
        throw unauthorized("the refresh token has expired");
      case RefreshRefused::disabled:
        throw unauthorized("the account is disabled");
    }
  }
  const auto& done = std::get<Refreshed>(outcome);
  co_return co_await issue(done.account, done.scope, done.family, done.api_key_id, next);
}

asio::awaitable<void> IdentityService::revoke(std::string account, std::string jti, std::string refresh_token) {
  // Conditional temporaries stay out of co_await expressions (GCC 12 destroys them twice).
  std::string refresh_hash;
  if (!refresh_token.empty()) refresh_hash = credential_hash(refresh_token);
  co_await store_.revoke(account, jti, db::utc_now_text(authenticator_.settings().access_ttl), std::move(refresh_hash));
  if (!jti.empty()) authenticator_.token_revoked(jti);
}

asio::awaitable<Challenge> IdentityService::challenge(std::string chain, std::string address) {
  address = wallet_address(chain, address);
  auto nonce = random_hex(16);
  auto message = "Sign in to the Neo Service Layer\nChain: " + chain + "\nAddress: " + address + "\nNonce: " + nonce +
                 "\nAudience: " + authenticator_.settings().audience;
  co_await store_.insert_nonce(nonce, chain, address, message, db::utc_now_text(nonce_ttl_));
  co_return Challenge{std::move(nonce), std::move(message), nonce_ttl_.count()};
}

asio::awaitable<Tokens> IdentityService::sign_in(std::string nonce, std::string signature_hex, std::string public_key_hex) {
  const auto spent = co_await store_.spend_nonce(nonce);
  if (!spent) throw unauthorized("unknown nonce: ask /v1/auth/wallet/challenge for one");
  if (spent->used) throw unauthorized("the nonce was used already");
  if (spent->expired) throw unauthorized("the nonce has expired");
  const auto signature = crypto::from_hex(signature_hex);
  if (!signature) throw RequestError(ErrorKind::bad_request, "signature must be hex").with_field("signature", "must be hex");
  const auto public_key = crypto::from_hex(public_key_hex).value_or(crypto::Bytes{});
  if (!wallet_signature_valid(spent->chain, spent->address, spent->message, *signature, public_key)) {
    throw unauthorized("the signature is not the address's signature of the challenge");
  }
  // The address is the principal: its account is created on first sign-in.
  const auto account = co_await store_.wallet_account(spent->chain, spent->address);
  if (account.disabled) throw unauthorized("the account is disabled");
  const auto role = role_of(account);
  auto signed_in = account;
  signed_in.role = role_name(role);
  co_return co_await issue(signed_in, role_permissions(role), random_uuid(), "");
}

asio::awaitable<NewApiKey> IdentityService::create_api_key(std::string account, std::string name,
                                                           std::vector<std::string> permissions) {
  NewApiKey out{random_uuid(), std::move(name), {}, std::move(permissions)};
  std::string lookup;
  out.api_key = nsl::identity::new_api_key(lookup);
  const bool stored = co_await store_.insert_api_key(account, out.id, out.name, lookup, credential_hash(out.api_key),
                                                     out.permissions, settings_.api_keys_per_account);
  if (!stored) {
    throw RequestError(ErrorKind::conflict, "the quota of " + std::to_string(settings_.api_keys_per_account) +
                                                " API keys is used up (Quotas:ApiKeysPerAccount); revoke one first");
  }
  co_return out;
}

asio::awaitable<std::vector<ApiKey>> IdentityService::api_keys(std::string account) {
  co_return co_await store_.api_keys(std::move(account));
}

asio::awaitable<void> IdentityService::revoke_api_key(std::string account, std::string id) {
  const bool found = co_await store_.revoke_api_key(account, id);
  // Another account's key is as unknown as a missing one.
  if (!found) throw NotFound("no API key " + id);
  authenticator_.api_key_revoked(id);
}

asio::awaitable<AccountPage> IdentityService::accounts(std::optional<Role> role, std::optional<std::string> after) {
  constexpr int kPage = 1000;
  std::optional<std::string> role_text;
  if (role) role_text = role_name(*role);
  AccountPage page;
  page.accounts = co_await store_.accounts(role_text, std::move(after), kPage + 1);
  if (page.accounts.size() > kPage) {
    page.accounts.resize(kPage);
    page.next = page.accounts.back().id;
  }
  co_return page;
}

asio::awaitable<Account> IdentityService::account(std::string id) {
  auto found = co_await store_.account(id);
  if (!found) throw NotFound("no account " + id);
  co_return std::move(*found);
}

asio::awaitable<CreatedAccount> IdentityService::create_account(std::string name, Role role) {
  if (const auto why = refused_account_name(name)) throw field_error("name", *why);
  auto made = new_account(name, role);
  const bool stored =
      co_await store_.insert_account(made.account, made.lookup, credential_hash(made.api_key), role_permissions(role));
  if (!stored) throw RequestError(ErrorKind::conflict, taken(name)).with_field("name", "is taken");
  co_return CreatedAccount{std::move(made.account), std::move(made.api_key)};
}

asio::awaitable<Account> IdentityService::changeable(const std::string& actor, const std::string& id) {
  auto current = co_await account(id);
  if (current.id == actor) {
    throw RequestError(ErrorKind::conflict, "an admin cannot change their own account's role or disable it");
  }
  co_return current;
}

asio::awaitable<Account> IdentityService::set_role(std::string actor, std::string id, Role role) {
  auto current = co_await changeable(actor, id);
  current.role = role_name(role);
  co_await store_.set_role(current.id, current.role);
  // Tokens issued under the old role narrow to the new one: at once on this replica, on the
  // others within a sync interval.
  authenticator_.account_changed(current.id, std::nullopt, current.role);
  co_return current;
}

asio::awaitable<Account> IdentityService::set_disabled(std::string actor, std::string id, bool disabled) {
  auto current = co_await changeable(actor, id);
  current.disabled = disabled;
  co_await store_.set_disabled(current.id, disabled);
  authenticator_.account_changed(current.id, disabled, std::nullopt);  // the others within a sync interval
  co_return current;
}

}  // namespace nsl::services::identity
