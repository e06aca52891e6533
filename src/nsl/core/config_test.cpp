#include "nsl/core/config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "nsl/core/testing/temp_dir.hpp"

namespace nsl::config {
namespace {

using nlohmann::json;

std::string errors_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    std::string all;
    for (const auto& l : e.errors()) all += l + "\n";
    return all;
  }
  return "";
}

using testing::TempDir;

TEST(Config, DefaultsWithoutAnyFile) {
  TempDir dir;
  Source src;
  src.directory = dir.str();
  const auto s = load(src);
  EXPECT_EQ(s.environment, "Production");
  ASSERT_EQ(s.server.urls.size(), 1u);
  EXPECT_EQ(s.server.urls[0].host, "0.0.0.0");
  EXPECT_EQ(s.server.urls[0].port, 5000);
  EXPECT_EQ(s.rate_limiting.permit_limit, 100);
  EXPECT_EQ(s.rate_limiting.window, std::chrono::seconds(60));
  EXPECT_EQ(s.rate_limiting.queue_limit, 50);
  EXPECT_EQ(s.services.service_timeout_seconds, 30);
  EXPECT_EQ(s.services.max_concurrent_requests, 1000);
  EXPECT_EQ(s.jwt.issuer, "neo-service-layer");
  EXPECT_EQ(s.security.audit_retention_days, 2555);
  EXPECT_EQ(s.logging.levels.default_level, log::Level::info);
  EXPECT_EQ(s.database.sqlite_path, "data/nsl.db");
}

TEST(Config, GuideProductionFileIsAccepted) {
  // The appsettings.Production.json of guide §6.1.1, verbatim apart from the PostgreSQL string.
  TempDir dir;
  dir.write("appsettings.Production.json", R"({
      "Logging": {"LogLevel": {"Default": "Information", "Microsoft": "Warning", "System": "Warning"}},
      "ConnectionStrings": {"DefaultConnection": "", "Redis": "redis-service:6379,abortConnect=false,ssl=false,password=s3cret"},
      "Jwt": {"Issuer": "neo-service-layer", "Audience": "https://api.neo-service-layer.io", "ExpiryInDays": 1, "RefreshExpiryInDays": 7},
      "RateLimiting": {"EnableRateLimiting": true, "PermitLimit": 100, "Window": "00:01:00", "QueueProcessingOrder": "OldestFirst", "QueueLimit": 50},
      "Services": {"EnableAllServices": true, "ServiceTimeoutSeconds": 30, "MaxConcurrentRequests": 1000},
      "Blockchain": {"Neo": {"MainNet": "https://mainnet1.neo.coz.io:443", "TestNet": "https://testnet1.neo.coz.io:443"},
                     "NeoX": {"MainNet": "https://mainnet.neox.org", "TestNet": "https://testnet.neox.org"}},
      "Security": {"EnableSgx": true, "RequireHttps": true, "EnableAuditLogging": true, "AuditRetentionDays": 2555}
    })");
  Source src;
  src.directory = dir.str();
  const auto s = load(src);
  EXPECT_EQ(s.logging.levels.resolve("Microsoft.AspNetCore"), log::Level::warning);
  EXPECT_EQ(s.logging.levels.resolve("http.access"), log::Level::info);
  EXPECT_EQ(s.jwt.audience, "https://api.neo-service-layer.io");
  EXPECT_EQ(s.blockchain.neo_x.test_net, "https://testnet.neox.org");
  EXPECT_TRUE(s.security.require_https);
  EXPECT_TRUE(s.security.enable_sgx);
  ASSERT_EQ(s.sources.size(), 1u);
}

TEST(Config, EnvironmentFileOverridesBaseAndEnvVarsOverrideBoth) {
  TempDir dir;
  dir.write("appsettings.json",
            R"({"RateLimiting": {"PermitLimit": 10, "QueueLimit": 5}, "Services": {"ServiceTimeoutSeconds": 9}})");
  dir.write("appsettings.Staging.json", R"({"RateLimiting": {"PermitLimit": 20}})");
  Source src;
  src.directory = dir.str();
  src.env = {
      {"NSL_ENVIRONMENT", "Staging"}, {"RateLimiting__QueueLimit", "7"}, {"PATH", "/usr/bin"}, {"UNRELATED__THING", "ignored"}};
  const auto s = load(src);
  EXPECT_EQ(s.environment, "Staging");
  EXPECT_EQ(s.rate_limiting.permit_limit, 20);
  EXPECT_EQ(s.rate_limiting.queue_limit, 7);
  EXPECT_EQ(s.services.service_timeout_seconds, 9);
}

TEST(Config, AspNetCoreEnvironmentIsTheFallback) {
  Source src;
  src.env = {{"ASPNETCORE_ENVIRONMENT", "Development"}};
  EXPECT_EQ(src.resolved_environment(), "Development");
  src.env["NSL_ENVIRONMENT"] = "Testing";
  EXPECT_EQ(src.resolved_environment(), "Testing");
  src.environment = "Cli";
  EXPECT_EQ(src.resolved_environment(), "Cli");
}

TEST(Config, EnvironmentVariablesOfTheGuide) {
  TempDir dir;
  Source src;
  src.directory = dir.str();
  src.env = {{"RateLimiting__PermitLimit", "50"},   {"ConnectionStrings__DefaultConnection", "Data Source=/tmp/x.db"},
             {"Jwt__Secret", std::string(40, 'k')}, {"Logging__LogLevel__Default", "Warning"},
             {"Services__EnableSgx", "true"},       {"ASPNETCORE_URLS", "http://+:8080;http://127.0.0.1:9000"}};
  const auto s = load(src);
  EXPECT_EQ(s.rate_limiting.permit_limit, 50);
  EXPECT_EQ(s.connection_strings.default_connection, "Data Source=/tmp/x.db");
  EXPECT_EQ(s.jwt.secret, std::string(40, 'k'));
  EXPECT_EQ(s.logging.levels.default_level, log::Level::warning);
  EXPECT_TRUE(s.security.enable_sgx);
  ASSERT_EQ(s.server.urls.size(), 2u);
  EXPECT_EQ(s.server.urls[0].host, "0.0.0.0");
  EXPECT_EQ(s.server.urls[0].port, 8080);
  EXPECT_EQ(s.server.urls[1].host, "127.0.0.1");
}

TEST(Config, KeysAreCaseInsensitive) {
  const auto s = from_json(json::parse(R"({"ratelimiting": {"permitlimit": 3}, "SERVICES": {"maxConcurrentRequests": 4}})"));
  EXPECT_EQ(s.rate_limiting.permit_limit, 3);
  EXPECT_EQ(s.services.max_concurrent_requests, 4);
}

struct BadCase {
  const char* json;
  const char* expected;  // substring of the error
};

class ConfigValidation : public ::testing::TestWithParam<BadCase> {};

TEST_P(ConfigValidation, NamesTheKey) {
  const auto& c = GetParam();
  const auto errors = errors_of([&] { (void)from_json(json::parse(c.json)); });
  EXPECT_NE(errors.find(c.expected), std::string::npos) << "errors were: " << errors;
}

INSTANTIATE_TEST_SUITE_P(
    Every, ConfigValidation,
    ::testing::Values(
        BadCase{R"({"Bogus": 1})", "Bogus: unknown configuration key"},
        BadCase{R"({"RateLimiting": {"PermitLimitt": 1}})", "RateLimiting:PermitLimitt: unknown configuration key"},
        BadCase{R"({"RateLimiting": {"PermitLimit": "many"}})", "RateLimiting:PermitLimit: must be an integer"},
        BadCase{R"({"RateLimiting": {"PermitLimit": 0}})", "RateLimiting:PermitLimit: must be between 1 and"},
        BadCase{R"({"RateLimiting": {"PermitLimit": 1.5}})", "RateLimiting:PermitLimit: must be an integer"},
        BadCase{R"({"RateLimiting": {"Window": "soon"}})", "RateLimiting:Window: must be a duration"},
        BadCase{R"({"RateLimiting": {"Window": "00:00:00"}})", "RateLimiting:Window: must be a duration"},
        BadCase{R"({"RateLimiting": {"QueueProcessingOrder": "Random"}})",
                "RateLimiting:QueueProcessingOrder: must be OldestFirst"},
        BadCase{R"({"RateLimiting": {"EnableRateLimiting": "yes"}})", "RateLimiting:EnableRateLimiting: must be true or false"},
        BadCase{R"({"RateLimiting": 5})", "RateLimiting: must be an object"},
        BadCase{R"({"Services": {"ServiceTimeoutSeconds": -1}})", "Services:ServiceTimeoutSeconds: must be between 1 and 3600"},
        BadCase{R"({"Services": {"MaxConcurrentRequests": 0}})", "Services:MaxConcurrentRequests: must be between"},
        BadCase{R"({"Jwt": {"Secret": "short"}})", "Jwt:Secret: must be at least 32 bytes"},
        BadCase{R"({"Jwt": {"ExpiryInDays": 0}})", "Jwt:ExpiryInDays: must be between 1 and 365"},
        BadCase{R"({"Logging": {"LogLevel": {"Default": "Loud"}}})", "Logging:LogLevel:Default: unknown log level"},
        BadCase{R"({"Logging": {"Console": {}}})", "Logging:Console: unknown configuration key"},
        BadCase{R"({"Urls": "ftp://x:1"})", "Urls: \"ftp://x:1\": scheme must be http"},
        BadCase{R"({"Urls": "https://0.0.0.0:443"})", "is HTTPS: set Server:Certificate:Path and Server:Certificate:KeyPath"},
        BadCase{R"({"Server": {"Certificate": {"Path": "/etc/nsl/cert.pem"}}})", "Server:Certificate: needs both Path"},
        BadCase{R"({"Server": {"Certificate": {"File": "x"}}})", "Server:Certificate:File: unknown configuration key"},
        BadCase{R"({"Urls": "http://+:99999"})", "port must be a number from 0 to 65535"},
        BadCase{R"({"Urls": "localhost"})", "is not a URL"}, BadCase{R"({"Urls": 5000})", "Urls: must be a string"},
        BadCase{R"({"Server": {"MaxRequestBodySize": 10}})", "Server:MaxRequestBodySize: must be between 1024"},
        BadCase{R"({"Server": {"TrustedProxies": 7}})", "Server:TrustedProxies: must be a list of strings"},
        BadCase{R"({"Database": {"SqlitePath": ""}})", "Database:SqlitePath: must not be empty"},
        BadCase{R"({"Database": {"PoolSize": 0}})", "Database:PoolSize: must be between 1 and 256"},
        BadCase{R"({"Metrics": {"Port": 70000}})", "Metrics:Port: must be between 0 and 65535"},
        BadCase{R"({"Blockchain": {"Neo": {"DevNet": "x"}}})", "Blockchain:Neo:DevNet: unknown configuration key"},
        BadCase{R"({"Security": {"AuditRetentionDays": 0}})", "Security:AuditRetentionDays: must be between 1"},
        BadCase{R"({"ConnectionStrings": {"Default": "x"}})", "ConnectionStrings:Default: unknown configuration key"}));

TEST(Config, ReportsEveryErrorAtOnce) {
  try {
    (void)from_json(json::parse(R"({"Bogus": 1, "Services": {"ServiceTimeoutSeconds": 0}})"));
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.errors().size(), 2u);
  }
}

TEST(Config, ErrorNamesTheEnvironmentVariableItCameFrom) {
  TempDir dir;
  Source src;
  src.directory = dir.str();
  src.env = {{"Services__ServiceTimeoutSeconds", "forever"}};
  const auto errors = errors_of([&] { (void)load(src); });
  EXPECT_NE(errors.find("Services:ServiceTimeoutSeconds: must be an integer"), std::string::npos) << errors;
  EXPECT_NE(errors.find("(from environment variable Services__ServiceTimeoutSeconds)"), std::string::npos) << errors;
}

TEST(Config, ErrorNamesTheFileItCameFrom) {
  TempDir dir;
  dir.write("appsettings.json", R"({"Services": {"MaxConcurrentRequests": -5}})");
  Source src;
  src.directory = dir.str();
  const auto errors = errors_of([&] { (void)load(src); });
  EXPECT_NE(errors.find("appsettings.json)"), std::string::npos) << errors;
}

TEST(Config, InvalidJsonNamesFileAndPosition) {
  TempDir dir;
  dir.write("appsettings.json", "{\n  \"Services\": {\n    \"ServiceTimeoutSeconds\": 30,\n  }\n}");
  Source src;
  src.directory = dir.str();
  const auto errors = errors_of([&] { (void)load(src); });
  EXPECT_NE(errors.find("appsettings.json: invalid JSON"), std::string::npos) << errors;
  EXPECT_NE(errors.find("line 4"), std::string::npos) << errors;
}

TEST(Config, CommentsAreAllowedAsInAppSettings) {
  TempDir dir;
  dir.write("appsettings.json", "{\n  // the guide's files are JSON with comments\n  \"RateLimiting\": {\"PermitLimit\": 12}\n}");
  Source src;
  src.directory = dir.str();
  EXPECT_EQ(load(src).rate_limiting.permit_limit, 12);
}

TEST(Config, MissingExplicitDirectoryIsAnError) {
  Source src;
  src.directory = "/nonexistent/nsl-config";
  src.directory_required = true;
  EXPECT_NE(errors_of([&] { (void)load(src); }).find("does not exist"), std::string::npos);
}

TEST(Config, TimeSpans) {
  EXPECT_EQ(parse_timespan("00:01:00"), std::chrono::seconds(60));
  EXPECT_EQ(parse_timespan("01:00:30"), std::chrono::seconds(3630));
  EXPECT_EQ(parse_timespan("1.00:00:00"), std::chrono::seconds(86400));
  EXPECT_EQ(parse_timespan("00:00:05.500"), std::chrono::seconds(5));
  EXPECT_EQ(parse_timespan("90"), std::chrono::seconds(90));
  EXPECT_FALSE(parse_timespan("00:61:00"));
  EXPECT_FALSE(parse_timespan("1:2"));
  EXPECT_FALSE(parse_timespan("-5"));
  EXPECT_FALSE(parse_timespan(""));
}

TEST(Config, ListenUrls) {
  std::string why;
  auto u = parse_listen_url("http://[::1]:5001", why);
  ASSERT_TRUE(u) << why;
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 5001);
  u = parse_listen_url("http://localhost:7", why);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "127.0.0.1");
  u = parse_listen_url("http://*:80/", why);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "0.0.0.0");
  EXPECT_FALSE(parse_listen_url("http://host:80/path", why));
  EXPECT_FALSE(parse_listen_url("http://[::1:80", why));
}

TEST(Config, MaskedOutputHidesEverySecret) {
  Settings s;
  s.jwt.secret = "super-secret-signing-key-0123456789abcdef";
  s.connection_strings.default_connection = "Host=db;Database=nsl;Username=neo;Password=pg-pass-123;Maximum Pool Size=100";
  s.connection_strings.redis = "redis-service:6379,abortConnect=false,password=redis-pass-456";
  s.server.urls.push_back({"http", "0.0.0.0", 5000, "http://0.0.0.0:5000"});
  const auto text = to_masked_json(s).dump();
  EXPECT_EQ(text.find("super-secret"), std::string::npos);
  EXPECT_EQ(text.find("pg-pass-123"), std::string::npos);
  EXPECT_EQ(text.find("redis-pass-456"), std::string::npos);
  EXPECT_NE(text.find("Username=neo"), std::string::npos);
  EXPECT_NE(text.find("Maximum Pool Size=100"), std::string::npos);
  EXPECT_EQ(mask_connection_string("postgresql://neo:pw@db:5432/nsl?sslmode=require"),
            "postgresql://neo:********@db:5432/nsl?sslmode=require");
  EXPECT_EQ(mask_connection_string("postgresql://db/nsl?user=neo&password=pw&x=1"),
            "postgresql://db/nsl?user=neo&password=********&x=1");
}

TEST(Config, OnlyLogLevelsAndRateLimitsReloadWithoutRestart) {
  Settings a;
  Settings b = a;
  b.logging.levels.default_level = log::Level::debug;
  b.rate_limiting.permit_limit = 5;
  EXPECT_TRUE(restart_required_changes(a, b).empty());
  b.services.max_concurrent_requests = 7;
  b.metrics.port = 9100;
  const auto changed = restart_required_changes(a, b);
  EXPECT_EQ(changed, (std::vector<std::string>{"Services", "Metrics"}));
}

// Two services' settings, one of them sharing a section with a third (as `Quotas` is shared).
struct AlphaSettings {
  int limit = 7;
  std::int64_t bytes = 1024;
  bool enabled = true;
  std::string token;
  bool operator==(const AlphaSettings&) const = default;
};
struct BetaSettings {
  int kept = 3;
  bool operator==(const BetaSettings&) const = default;
};
struct GammaSettings {
  int others = 5;
  bool operator==(const GammaSettings&) const = default;
};

struct ServiceSections {
  SectionSpec alpha =
      Section<AlphaSettings>("Alpha")
          .integer("Limit", &AlphaSettings::limit, 1, 100, "a limit")
          .integer("Bytes", &AlphaSettings::bytes, 0, 1LL << 40, "bytes")
          .boolean("Enabled", &AlphaSettings::enabled, "on or off")
          .string("Token", &AlphaSettings::token, "a secret", true)
          .check("Limit",
                 [](const AlphaSettings& a) {
                   return a.enabled || a.limit == 7 ? std::string() : std::string("may only change while enabled");
                 })
          .spec();
  SectionSpec beta = Section<BetaSettings>("Shared").integer("Kept", &BetaSettings::kept, 1, 10, "kept").spec();
  SectionSpec gamma = Section<GammaSettings>("Shared").integer("Others", &GammaSettings::others, 0, 9, "others").spec();
  SectionSpecs all() const { return {&alpha, &beta, &gamma}; }
};

TEST(ServiceSettings, DefaultsComeFromTheStructAndKeysFromEveryOrigin) {
  const ServiceSections sections;
  TempDir dir;
  dir.write("appsettings.json", R"({"alpha": {"LIMIT": 9}, "Shared": {"Others": 0}})");
  Source src;
  src.directory = dir.str();
  src.env = {{"Shared__Kept", "4"}, {"Alpha__Token", "t0ps3cret"}, {"Unrelated__Key", "x"}};
  const auto s = load(src, sections.all());
  EXPECT_EQ(s.get<AlphaSettings>(), (AlphaSettings{9, 1024, true, "t0ps3cret"}));
  EXPECT_EQ(s.get<BetaSettings>().kept, 4);
  EXPECT_EQ(s.get<GammaSettings>().others, 0);
  EXPECT_THROW((void)from_json(json::object()).get<AlphaSettings>(), std::logic_error);  // not registered
  // Without the specs these sections are unknown: a service's keys are known only through it.
  dir.write("appsettings.json", R"({"Shared": {"Kept": 2}})");
  EXPECT_NE(errors_of([&] { (void)load(src); }).find("Shared: unknown configuration key"), std::string::npos);
}

TEST(ServiceSettings, EveryProblemNamesItsKey) {
  const ServiceSections sections;
  const auto errors = errors_of([&] {
    (void)from_json(json::parse(R"({"Alpha": {"Limit": 0, "Enabled": "maybe", "Bogus": 1}, "Shared": {"Kept": 11, "Nope": 2}})"),
                    {}, sections.all());
  });
  EXPECT_NE(errors.find("Alpha:Limit: must be between 1 and 100, got 0"), std::string::npos) << errors;
  EXPECT_NE(errors.find("Alpha:Enabled: must be true or false"), std::string::npos) << errors;
  EXPECT_NE(errors.find("Alpha:Bogus: unknown configuration key"), std::string::npos) << errors;
  EXPECT_NE(errors.find("Shared:Kept: must be between 1 and 10, got 11"), std::string::npos) << errors;
  EXPECT_NE(errors.find("Shared:Nope: unknown configuration key"), std::string::npos) << errors;
  EXPECT_EQ(errors.find("Shared:Others"), std::string::npos) << errors;  // read by the other spec of the section
  const auto cross =
      errors_of([&] { (void)from_json(json::parse(R"({"Alpha": {"Limit": 5, "Enabled": false}})"), {}, sections.all()); });
  EXPECT_NE(cross.find("Alpha:Limit: may only change while enabled"), std::string::npos) << cross;
}

TEST(ServiceSettings, ShownMaskedAndChangesNeedARestart) {
  const ServiceSections sections;
  const auto a = from_json(json::parse(R"({"Alpha": {"Token": "t0ps3cret"}})"), {}, sections.all());
  const auto shown = to_masked_json(a, sections.all());
  EXPECT_EQ(shown["Alpha"], json::parse(R"({"Limit": 7, "Bytes": 1024, "Enabled": true, "Token": "********"})"));
  EXPECT_EQ(shown["Shared"], json::parse(R"({"Kept": 3, "Others": 5})"));
  EXPECT_EQ(shown.dump().find("t0ps3cret"), std::string::npos);
  const auto b = from_json(json::parse(R"({"Alpha": {"Token": "t0ps3cret"}, "Shared": {"Others": 1}})"), {}, sections.all());
  EXPECT_EQ(restart_required_changes(a, b, sections.all()), (std::vector<std::string>{"Shared"}));
  EXPECT_TRUE(restart_required_changes(a, a, sections.all()).empty());
  const auto docs = sections.alpha.keys;
  ASSERT_EQ(docs.size(), 4u);
  EXPECT_EQ(docs[0].key, "Alpha:Limit");
  EXPECT_EQ(docs[0].type, "integer 1..100");
}

}  // namespace
}  // namespace nsl::config
