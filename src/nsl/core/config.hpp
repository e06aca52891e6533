#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <typeindex>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "nsl/core/errors.hpp"
#include "nsl/core/logging.hpp"

namespace nsl::config {

/// `Logging` (guide §6.1.1): minimum level per category.
struct LoggingSettings {
  log::LevelMap levels;
  bool operator==(const LoggingSettings&) const = default;
};

/// One address the HTTP server listens on, parsed from `Urls` ("http://+:5000").
struct ListenUrl {
  std::string scheme;  // "http" or "https"
  std::string host;    // "0.0.0.0", "::", "127.0.0.1", ...
  std::uint16_t port = 0;
  std::string text;  // as configured
  bool operator==(const ListenUrl&) const = default;
};

/// `Server`: the HTTP listener's limits and timeouts (not in the guide, which leaves them to Kestrel).
struct ServerSettings {
  std::vector<ListenUrl> urls;
  int threads = 0;  // 0: one IO thread per CPU core
  std::uint64_t max_request_body_bytes = 4u << 20;
  std::uint64_t max_request_headers_bytes = 32u << 10;
  int request_headers_timeout_seconds = 30;
  int keep_alive_timeout_seconds = 120;
  int shutdown_timeout_seconds = 30;
  std::vector<std::string> trusted_proxies;  // peers whose X-Forwarded-Proto is believed
  std::string certificate_path;              // Certificate:Path, PEM chain for https:// URLs (reloaded on change)
  std::string certificate_key_path;          // Certificate:KeyPath, PEM private key
  bool operator==(const ServerSettings&) const = default;
};

/// `Services` (guide §6.1.1).
struct ServicesSettings {
  bool enable_all_services = true;
  int service_timeout_seconds = 30;
  int max_concurrent_requests = 1000;
  bool operator==(const ServicesSettings&) const = default;
};

/// `RateLimiting` (guide §6.1.1). Reloadable.
struct RouteRateLimit {
  int permit_limit = 100;
  std::chrono::seconds window{60};
  int queue_limit = 50;
  bool operator==(const RouteRateLimit&) const = default;
};

struct RateLimitingSettings {
  bool enabled = true;
  int permit_limit = 100;
  std::chrono::seconds window{60};
  std::string queue_processing_order = "OldestFirst";
  int queue_limit = 50;
  /// `Routes`: limits of their own for some routes, keyed "VERB /pattern" or "/pattern" (every
  /// verb), e.g. "POST /v1/auth/token"; each field not given is the general one.
  std::map<std::string, RouteRateLimit> routes;
  bool operator==(const RateLimitingSettings&) const = default;
};

/// `Jwt` (guide §6.1.1, Appendix A.1).
struct JwtSettings {
  std::string secret;
  std::string issuer = "neo-service-layer";
  std::string audience;
  int expiry_in_days = 1;
  int refresh_expiry_in_days = 7;
  bool operator==(const JwtSettings&) const = default;
};

/// `ConnectionStrings` (guide §6.1.1).
struct ConnectionStrings {
  std::string default_connection;
  std::string redis;
  bool operator==(const ConnectionStrings&) const = default;
};

/// `Database`: the embedded SQLite store used when no PostgreSQL connection string is set.
struct DatabaseSettings {
  std::string sqlite_path = "data/nsl.db";
  bool migrate_on_startup = true;
  int pool_size = 4;
  int busy_timeout_ms = 5000;
  bool operator==(const DatabaseSettings&) const = default;
};

/// `Blockchain` (guide §6.1.1): RPC endpoints per network.
struct NetworkEndpoints {
  std::string main_net;
  std::string test_net;
  bool operator==(const NetworkEndpoints&) const = default;
};
struct BlockchainSettings {
  NetworkEndpoints neo;
  NetworkEndpoints neo_x;
  bool operator==(const BlockchainSettings&) const = default;
};

/// `Security` (guide §6.1.1).
struct SecuritySettings {
  bool enable_sgx = false;
  bool require_https = false;
  bool enable_audit_logging = true;
  int audit_retention_days = 2555;
  bool operator==(const SecuritySettings&) const = default;
};

/// `Enclave` (guide §8.4): the `nsl-enclave` process that holds the sealing root and every service key.
struct EnclaveSettings {
  bool supervise = true;     // nsl serve starts it and restarts it when it dies
  std::string enclave_path;  // its binary; empty: `nsl-enclave` beside `nsl`
  std::string socket_path = "data/enclave/enclave.sock";
  std::string sealing_key_path = "data/enclave/sealing-root";  // the root sealing secret (simulation)
  std::string token_path;                                      // an enclave run on its own: the file holding its connection token
  int max_enclave_threads = 4;
  int request_timeout_ms = 5000;
  bool operator==(const EnclaveSettings&) const = default;
};

/// `Cache` (guide §13.2.1): the in-process L1 over Redis (`ConnectionStrings:Redis`) as L2.
struct CacheSettings {
  int l1_ttl_seconds = 300;
  int l2_ttl_seconds = 3600;
  int l1_max_entries = 100000;
  int lease_ms = 500;  // how long a replica trusts its L1 without hearing from Redis
  bool operator==(const CacheSettings&) const = default;
};

/// `Metrics`: the Prometheus endpoint; `port` > 0 adds a listener that serves only metrics.
struct MetricsSettings {
  int port = 0;
  bool operator==(const MetricsSettings&) const = default;
};

/// The whole effective configuration: immutable once built; a reload builds a new one.
struct Settings {
  std::string environment = "Production";
  std::vector<std::string> sources;  // files and environment variables that contributed
  LoggingSettings logging;
  ServerSettings server;
  ServicesSettings services;
  RateLimitingSettings rate_limiting;
  JwtSettings jwt;
  ConnectionStrings connection_strings;
  DatabaseSettings database;
  BlockchainSettings blockchain;
  SecuritySettings security;
  EnclaveSettings enclave;
  CacheSettings cache;
  MetricsSettings metrics;
  /// The sections the services own, read through their SectionSpec (by its settings type).
  std::map<std::type_index, std::shared_ptr<const void>> modules;

  /// A service's settings, read by the spec registered for `S`; throws std::logic_error when
  /// no spec for `S` was given to load().
  template <class S>
  const S& get() const {
    const auto it = modules.find(std::type_index(typeid(S)));
    if (it == modules.end()) throw std::logic_error(std::string("no settings section registered for ") + typeid(S).name());
    return *static_cast<const S*>(it->second.get());
  }
};

class Reader;

/// What Section<S> uses to read and show keys (defined with the Reader in config.cpp).
void read_integer(Reader& r, const std::string& key, int& out, std::int64_t min, std::int64_t max);
void read_integer(Reader& r, const std::string& key, std::int64_t& out, std::int64_t min, std::int64_t max);
void read_boolean(Reader& r, const std::string& key, bool& out);
void read_string(Reader& r, const std::string& key, std::string& out);
/// Reports a problem with `key`.
void report(Reader& r, const std::string& key, const std::string& message);
void set_json(nlohmann::json& j, const std::string& key, std::int64_t value);
void set_json(nlohmann::json& j, const std::string& key, bool value);
void set_json(nlohmann::json& j, const std::string& key, const std::string& value);

/// One key of a service's section, as documented (`docs/configuration.md`, `nsl config check`).
struct KeyDoc {
  std::string key;      // "Quotas:SecretsPerAccount"
  std::string type;     // "integer 1..10000000", "boolean", "string"
  std::string meaning;  // one line
};

/// A settings section a service owns (or its part of a shared one, such as `Quotas`): how its
/// keys are read and checked, their defaults (those of a value-initialised `S`), how the values
/// are shown with secrets masked, and whether a change applies without a restart. Services
/// declare one with Section<S> and the application passes every service's spec to load(), so
/// that core never lists a service's settings.
struct SectionSpec {
  std::string section;  // top-level key, "Storage"
  std::type_index type;
  std::vector<KeyDoc> keys;
  std::function<std::shared_ptr<const void>(Reader&)> read;        // from the section's object, into a fresh S
  std::function<void(const void*, nlohmann::json& section)> show;  // adds its keys
  std::function<bool(const void*, const void*)> same;
};
using SectionSpecs = std::vector<const SectionSpec*>;

/// Builds a SectionSpec for settings struct `S` key by key; each key names the member it sets,
/// so a default is written once, in `S`.
template <class S>
class Section {
 public:
  explicit Section(std::string section) : section_(std::move(section)) {}

  /// An integer key within [min, max].
  template <class Int>
  Section& integer(std::string key, Int S::*member, std::int64_t min, std::int64_t max, std::string meaning) {
    fields_.push_back({key, [key, member, min, max](Reader& r, S& s) { read_integer(r, key, s.*member, min, max); },
                       [key, member](const S& s, nlohmann::json& j) { set(j, key, static_cast<std::int64_t>(s.*member)); }});
    docs_.push_back({section_ + ":" + key, "integer " + std::to_string(min) + ".." + std::to_string(max), std::move(meaning)});
    return *this;
  }
  /// A boolean key.
  Section& boolean(std::string key, bool S::*member, std::string meaning) {
    fields_.push_back({key, [key, member](Reader& r, S& s) { read_boolean(r, key, s.*member); },
                       [key, member](const S& s, nlohmann::json& j) { set(j, key, s.*member); }});
    docs_.push_back({section_ + ":" + key, "boolean", std::move(meaning)});
    return *this;
  }
  /// A string key; `secret` ones are shown masked.
  Section& string(std::string key, std::string S::*member, std::string meaning, bool secret = false) {
    fields_.push_back({key, [key, member](Reader& r, S& s) { read_string(r, key, s.*member); },
                       [key, member, secret](const S& s, nlohmann::json& j) {
                         set(j, key, secret && !(s.*member).empty() ? std::string("********") : s.*member);
                       }});
    docs_.push_back({section_ + ":" + key, "string", std::move(meaning)});
    return *this;
  }
  /// A check across keys, run after they are read: returns an error for `key`, or nothing.
  Section& check(std::string key, std::function<std::string(const S&)> fn) {
    checks_.push_back({std::move(key), std::move(fn)});
    return *this;
  }

  SectionSpec spec() const {
    auto fields = fields_;
    auto checks = checks_;
    return SectionSpec{section_,
                       std::type_index(typeid(S)),
                       docs_,
                       [fields, checks, section = section_](Reader& r) -> std::shared_ptr<const void> {
                         auto s = std::make_shared<S>();
                         for (const auto& f : fields) f.read(r, *s);
                         for (const auto& [key, fn] : checks) {
                           if (auto why = fn(*s); !why.empty()) report(r, section + ":" + key, why);
                         }
                         return s;
                       },
                       [fields](const void* p, nlohmann::json& j) {
                         for (const auto& f : fields) f.show(*static_cast<const S*>(p), j);
                       },
                       [](const void* a, const void* b) { return *static_cast<const S*>(a) == *static_cast<const S*>(b); }};
  }

 private:
  struct Field {
    std::string key;
    std::function<void(Reader&, S&)> read;
    std::function<void(const S&, nlohmann::json&)> show;
  };
  static void set(nlohmann::json& j, const std::string& key, const auto& value) { set_json(j, key, value); }
  std::string section_;
  std::vector<Field> fields_;
  std::vector<KeyDoc> docs_;
  std::vector<std::pair<std::string, std::function<std::string(const S&)>>> checks_;
};

/// Every problem found in a configuration, one line each, naming the key and its source.
class ConfigError : public StartupError {
 public:
  explicit ConfigError(std::vector<std::string> errors);
  const std::vector<std::string>& errors() const noexcept { return errors_; }

 private:
  std::vector<std::string> errors_;
};

/// Where configuration comes from: `appsettings.json` and `appsettings.<Environment>.json` in one
/// directory, then environment variables (`Section__Key=value`).
struct Source {
  std::string directory = ".";
  bool directory_required = false;         // set when the operator named the directory explicitly
  std::string environment;                 // empty: from NSL_ENVIRONMENT, then ASPNETCORE_ENVIRONMENT, else Production
  std::map<std::string, std::string> env;  // the environment to read overrides from

  /// The environment name: `environment`, else NSL_ENVIRONMENT, else ASPNETCORE_ENVIRONMENT, else Production.
  std::string resolved_environment() const;
  /// Paths of the files this source reads (whether or not they exist).
  std::vector<std::string> files() const;
  /// A value that changes whenever one of the files changes (size, mtime, existence).
  std::string fingerprint() const;
};

/// The process environment as a map (for Source::env).
std::map<std::string, std::string> process_environment();

/// Reads and validates the configuration, the platform's sections and the services' `specs`.
/// Throws ConfigError listing every problem.
Settings load(const Source& source, const SectionSpecs& specs = {});

/// Builds settings from one already-merged JSON document (tests, and load() itself).
Settings from_json(const nlohmann::json& doc, const std::map<std::string, std::string>& origins = {},
                   const SectionSpecs& specs = {});

/// The effective configuration as JSON with secrets masked (`nsl config check`).
nlohmann::json to_masked_json(const Settings& settings, const SectionSpecs& specs = {});

/// Hides the password in an ADO.NET-style or URI connection string.
std::string mask_connection_string(const std::string& value);

/// Parses a .NET TimeSpan ("00:01:00", "1.02:03:04") or a plain number of seconds.
std::optional<std::chrono::seconds> parse_timespan(std::string_view text);

/// Parses one `Urls` entry.
std::optional<ListenUrl> parse_listen_url(std::string_view text, std::string& why);

/// The settings that may change while running (guide §6.3): log levels and rate limits. Returns
/// the names of the sections that differ in anything else, which need a restart.
std::vector<std::string> restart_required_changes(const Settings& running, const Settings& next, const SectionSpecs& specs = {});

}  // namespace nsl::config
