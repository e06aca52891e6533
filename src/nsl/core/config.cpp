#include "nsl/core/config.hpp"

#include <sys/stat.h>

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "nsl/core/config_reader.hpp"
#include "nsl/core/strings.hpp"

extern char** environ;

namespace nsl::config {
namespace {

using json = nlohmann::json;

// Top-level keys an environment variable may address. Any other variable is not configuration.
// The services' sections (SectionSpec) are addressable too.
const char* const kSections[] = {"Logging",    "ConnectionStrings", "Jwt",     "RateLimiting", "Services",
                                 "Blockchain", "Security",          "Metrics", "Server",       "Database",
                                 "Urls",       "Enclave",           "Cache"};

json* find_ci(json& obj, std::string_view key) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (iequals(it.key(), key)) return &it.value();
  }
  return nullptr;
}

// Merges `src` into `dst`: objects key by key (keys compared case-insensitively, as the guide's
// ASP.NET configuration does), anything else replaces. Records where each leaf came from.
void merge(json& dst, const json& src, const std::string& path, const std::string& origin,
           std::map<std::string, std::string>& origins) {
  if (src.is_object() && dst.is_object()) {
    for (auto it = src.begin(); it != src.end(); ++it) {
      const auto child_path = path.empty() ? it.key() : path + ":" + it.key();
      if (json* existing = find_ci(dst, it.key())) {
        merge(*existing, it.value(), child_path, origin, origins);
      } else {
        dst[it.key()] = json(nullptr);
        merge(dst[it.key()], it.value(), child_path, origin, origins);
      }
    }
    return;
  }
  dst = src;
  origins[to_lower(path)] = origin;
  if (src.is_object()) {
    for (auto it = src.begin(); it != src.end(); ++it) {
      merge(dst[it.key()], it.value(), path + ":" + it.key(), origin, origins);
    }
  }
}

void read_logging(Reader r, LoggingSettings& out) {
  auto levels = r.section("LogLevel");
  levels.each_remaining([&](const std::string& key, const json& v, const std::string& path) {
    if (!v.is_string()) return levels.errors().add(path, "must be a log level name, got " + describe(v));
    const auto level = log::parse_level(v.get<std::string>());
    if (!level) {
      return levels.errors().add(
          path, "unknown log level " + describe(v) + " (use Trace, Debug, Information, Warning, Error, Critical or None)");
    }
    if (iequals(key, "Default"))
      out.levels.default_level = *level;
    else
      out.levels.categories[key] = *level;
  });
  r.finish();
}

void read_urls(Reader& root, ServerSettings& server) {
  const json* v = root.find("Urls");
  if (!v || v->is_null()) return;
  if (!v->is_string()) return root.errors().add("Urls", "must be a string such as \"http://0.0.0.0:5000\", got " + describe(*v));
  std::vector<ListenUrl> urls;
  for (auto part : split(v->get_ref<const std::string&>(), ";")) {
    part = trim(part);
    if (part.empty()) continue;
    std::string why;
    auto url = parse_listen_url(part, why);
    if (!url) return root.errors().add("Urls", why);
    urls.push_back(*url);
  }
  if (urls.empty()) return root.errors().add("Urls", "must name at least one address");
  server.urls = std::move(urls);
}

void read_server(Reader r, ServerSettings& out) {
  r.integer("Threads", out.threads, 0, 256);
  r.integer("MaxRequestBodySize", out.max_request_body_bytes, 1024, std::int64_t{1} << 30);
  r.integer("MaxRequestHeadersSize", out.max_request_headers_bytes, 1024, 1 << 20);
  r.integer("RequestHeadersTimeoutSeconds", out.request_headers_timeout_seconds, 1, 3600);
  r.integer("KeepAliveTimeoutSeconds", out.keep_alive_timeout_seconds, 1, 86400);
  r.integer("ShutdownTimeoutSeconds", out.shutdown_timeout_seconds, 0, 3600);
  r.string_list("TrustedProxies", out.trusted_proxies);
  {
    Reader cert = r.section("Certificate");
    cert.string("Path", out.certificate_path);
    cert.string("KeyPath", out.certificate_key_path);
    cert.finish();
    if (out.certificate_path.empty() != out.certificate_key_path.empty()) {
      r.errors().add(r.child("Certificate"), "needs both Path (PEM certificate chain) and KeyPath (PEM private key)");
    }
  }
  r.finish();
}

void read_services(Reader r, ServicesSettings& out, SecuritySettings& security) {
  r.boolean("EnableAllServices", out.enable_all_services);
  r.integer("ServiceTimeoutSeconds", out.service_timeout_seconds, 1, 3600);
  r.integer("MaxConcurrentRequests", out.max_concurrent_requests, 1, 1'000'000);
  // Appendix A.1 of the guide names this key under Services; §6.1.1 under Security. Both work.
  r.boolean("EnableSgx", security.enable_sgx);
  r.finish();
}

void read_window(Reader& r, std::chrono::seconds& out) {
  if (const json* w = r.find("Window"); w && !w->is_null()) {
    std::optional<std::chrono::seconds> window;
    if (w->is_string())
      window = parse_timespan(w->get<std::string>());
    else if (w->is_number_integer())
      window = std::chrono::seconds(w->get<std::int64_t>());
    if (!window || window->count() < 1 || window->count() > 86400) {
      r.errors().add(r.child("Window"), "must be a duration between 00:00:01 and 1.00:00:00 (hh:mm:ss), got " + describe(*w));
    } else {
      out = *window;
    }
  }
}

// "POST /v1/auth/token" or "/v1/keys/{id}/sign": an upper-case verb (optional), one space, a
// pattern as the routes are written. Whether the route exists is checked once they are known.
std::optional<std::string> route_key(const std::string& key) {
  const auto space = key.find(' ');
  const std::string verb = space == std::string::npos ? "" : key.substr(0, space);
  const std::string pattern = space == std::string::npos ? key : key.substr(space + 1);
  if (pattern.empty() || pattern[0] != '/' || pattern.find(' ') != std::string::npos) return std::nullopt;
  static const std::vector<std::string> verbs{"GET", "POST", "PUT", "PATCH", "DELETE"};
  std::string upper(verb);
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (!verb.empty() && std::find(verbs.begin(), verbs.end(), upper) == verbs.end()) return std::nullopt;
  return verb.empty() ? pattern : upper + " " + pattern;
}

void read_rate_limiting(Reader r, RateLimitingSettings& out) {
  r.boolean("EnableRateLimiting", out.enabled);
  r.integer("PermitLimit", out.permit_limit, 1, 1'000'000'000);
  read_window(r, out.window);
  r.string("QueueProcessingOrder", out.queue_processing_order);
  if (out.queue_processing_order != "OldestFirst" && out.queue_processing_order != "NewestFirst") {
    r.errors().add(r.child("QueueProcessingOrder"),
                   "must be OldestFirst or NewestFirst, got \"" + out.queue_processing_order + "\"");
  }
  r.integer("QueueLimit", out.queue_limit, 0, 1'000'000);
  Reader routes = r.section("Routes");
  out.routes.clear();
  routes.each_remaining([&](const std::string& key, const json& value, const std::string& path) {
    const auto normalized = route_key(key);
    if (!normalized) {
      r.errors().add(path, "must name a route as \"VERB /pattern\" or \"/pattern\" (e.g. \"POST /v1/auth/token\")");
      return;
    }
    Reader one(&value, path, r.errors());
    RouteRateLimit limit{out.permit_limit, out.window, out.queue_limit};
    one.integer("PermitLimit", limit.permit_limit, 1, 1'000'000'000);
    read_window(one, limit.window);
    one.integer("QueueLimit", limit.queue_limit, 0, 1'000'000);
    one.finish();
    out.routes[*normalized] = limit;
  });
  r.finish();
}

void read_jwt(Reader r, JwtSettings& out) {
  r.string("Secret", out.secret);
  if (!out.secret.empty() && out.secret.size() < 32) {
    // The secret's value is never echoed, only its length.
    r.errors().add(r.child("Secret"), "must be at least 32 bytes for HS256, got " + std::to_string(out.secret.size()));
  }
  r.string("Issuer", out.issuer);
  r.string("Audience", out.audience);
  r.integer("ExpiryInDays", out.expiry_in_days, 1, 365);
  r.integer("RefreshExpiryInDays", out.refresh_expiry_in_days, 1, 3650);
  r.finish();
}

void read_database(Reader r, DatabaseSettings& out) {
  r.string("SqlitePath", out.sqlite_path);
  if (out.sqlite_path.empty()) r.errors().add(r.child("SqlitePath"), "must not be empty");
  r.boolean("MigrateOnStartup", out.migrate_on_startup);
  r.integer("PoolSize", out.pool_size, 1, 256);
  r.integer("BusyTimeoutMs", out.busy_timeout_ms, 0, 600'000);
  r.finish();
}

void read_network(Reader r, NetworkEndpoints& out) {
  r.string("MainNet", out.main_net);
  r.string("TestNet", out.test_net);
  r.finish();
}

void read_security(Reader r, SecuritySettings& out) {
  r.boolean("EnableSgx", out.enable_sgx);
  r.boolean("RequireHttps", out.require_https);
  r.boolean("EnableAuditLogging", out.enable_audit_logging);
  r.integer("AuditRetentionDays", out.audit_retention_days, 1, 36500);
  r.finish();
}

void read_enclave(Reader r, EnclaveSettings& out) {
  r.boolean("Supervise", out.supervise);
  r.string("EnclavePath", out.enclave_path);
  r.string("SocketPath", out.socket_path);
  r.string("SealingKeyPath", out.sealing_key_path);
  r.string("TokenPath", out.token_path);
  r.integer("MaxEnclaveThreads", out.max_enclave_threads, 1, 256);
  r.integer("RequestTimeoutMs", out.request_timeout_ms, 100, 600'000);
  if (out.socket_path.empty()) r.errors().add(r.child("SocketPath"), "must not be empty");
  // sockaddr_un holds 107 characters and a terminator.
  if (out.socket_path.size() > 107) r.errors().add(r.child("SocketPath"), "must be at most 107 characters (a Unix socket path)");
  if (out.supervise && out.sealing_key_path.empty()) r.errors().add(r.child("SealingKeyPath"), "must not be empty");
  if (!out.supervise && out.token_path.empty()) {
    r.errors().add(r.child("TokenPath"), "must be set when Supervise is false (the enclave runs on its own)");
  }
  r.finish();
}

void read_file(const std::string& path, json& merged, std::map<std::string, std::string>& origins,
               std::vector<std::string>& sources, std::vector<std::string>& errors) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    errors.push_back(path + ": cannot be read");
    return;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  json doc;
  try {
    doc = json::parse(buf.str(), nullptr, true, /*ignore_comments=*/true);
  } catch (const json::parse_error& e) {
    // nlohmann's message names the line and column of the syntax error.
    std::string what = e.what();
    if (auto p = what.find("parse error"); p != std::string::npos) what = what.substr(p);
    errors.push_back(path + ": invalid JSON: " + what);
    return;
  }
  if (!doc.is_object()) {
    errors.push_back(path + ": must contain a JSON object");
    return;
  }
  merge(merged, doc, "", path, origins);
  sources.push_back(path);
}

}  // namespace

void read_integer(Reader& r, const std::string& key, int& out, std::int64_t min, std::int64_t max) {
  r.integer(key, out, min, max);
}
void read_integer(Reader& r, const std::string& key, std::int64_t& out, std::int64_t min, std::int64_t max) {
  r.integer(key, out, min, max);
}
void read_boolean(Reader& r, const std::string& key, bool& out) { r.boolean(key, out); }
void read_string(Reader& r, const std::string& key, std::string& out) { r.string(key, out); }
void report(Reader& r, const std::string& key, const std::string& message) { r.errors().add(key, message); }
void set_json(json& j, const std::string& key, std::int64_t value) { j[key] = value; }
void set_json(json& j, const std::string& key, bool value) { j[key] = value; }
void set_json(json& j, const std::string& key, const std::string& value) { j[key] = value; }

ConfigError::ConfigError(std::vector<std::string> errors)
    : StartupError("invalid configuration: " + join(errors, "; ")), errors_(std::move(errors)) {}

std::optional<std::chrono::seconds> parse_timespan(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  auto number = [](std::string_view s, std::int64_t& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && p == s.data() + s.size() && !s.empty() && out >= 0;
  };
  std::int64_t plain = 0;
  if (number(text, plain)) return std::chrono::seconds(plain);
  // [d.]hh:mm:ss[.fraction]
  std::int64_t days = 0;
  auto parts = split(text, ":");
  if (parts.size() != 3) return std::nullopt;
  auto hours_part = parts[0];
  if (auto dot = hours_part.find('.'); dot != std::string_view::npos) {
    if (!number(hours_part.substr(0, dot), days)) return std::nullopt;
    hours_part = hours_part.substr(dot + 1);
  }
  auto secs_part = parts[2];
  if (auto dot = secs_part.find('.'); dot != std::string_view::npos) secs_part = secs_part.substr(0, dot);
  std::int64_t h = 0, m = 0, s = 0;
  if (!number(hours_part, h) || !number(parts[1], m) || !number(secs_part, s)) return std::nullopt;
  if (h > 23 || m > 59 || s > 59) return std::nullopt;
  return std::chrono::seconds(((days * 24 + h) * 60 + m) * 60 + s);
}

std::optional<ListenUrl> parse_listen_url(std::string_view text, std::string& why) {
  ListenUrl url;
  url.text = std::string(text);
  const auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) {
    why = "\"" + url.text + "\" is not a URL such as http://0.0.0.0:5000";
    return std::nullopt;
  }
  url.scheme = to_lower(text.substr(0, scheme_end));
  if (url.scheme != "http" && url.scheme != "https") {
    why = "\"" + url.text + "\": scheme must be http or https";
    return std::nullopt;
  }
  auto rest = text.substr(scheme_end + 3);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos) {
    why = "\"" + url.text + "\": a listen URL has no path";
    return std::nullopt;
  }
  std::string_view host;
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) {
      why = "\"" + url.text + "\": unterminated IPv6 address";
      return std::nullopt;
    }
    host = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        why = "\"" + url.text + "\": expected :port after the address";
        return std::nullopt;
      }
      port = rest.substr(1);
    }
  } else {
    const auto colon = rest.rfind(':');
    host = colon == std::string_view::npos ? rest : rest.substr(0, colon);
    if (colon != std::string_view::npos) port = rest.substr(colon + 1);
  }
  if (host == "+" || host == "*" || host.empty())
    url.host = "0.0.0.0";
  else if (iequals(host, "localhost"))
    url.host = "127.0.0.1";
  else
    url.host = std::string(host);
  unsigned p = 80;
  if (!port.empty()) {
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc{} || ptr != port.data() + port.size() || p > 65535) {
      why = "\"" + url.text + "\": port must be a number from 0 to 65535";
      return std::nullopt;
    }
  }
  url.port = static_cast<std::uint16_t>(p);
  return url;
}

std::string Source::resolved_environment() const {
  if (!environment.empty()) return environment;
  if (auto it = env.find("NSL_ENVIRONMENT"); it != env.end() && !it->second.empty()) return it->second;
  if (auto it = env.find("ASPNETCORE_ENVIRONMENT"); it != env.end() && !it->second.empty()) return it->second;
  return "Production";
}

std::vector<std::string> Source::files() const {
  const std::filesystem::path dir(directory);
  return {(dir / "appsettings.json").string(), (dir / ("appsettings." + resolved_environment() + ".json")).string()};
}

std::string Source::fingerprint() const {
  std::string fp;
  for (const auto& f : files()) {
    struct stat st {};
    if (::stat(f.c_str(), &st) == 0) {
      fp += f + ":" + std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
            std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_ino) + ";";
    } else {
      fp += f + ":absent;";
    }
  }
  return fp;
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    out.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return out;
}

Settings load(const Source& source, const SectionSpecs& specs) {
  std::vector<std::string> errors;
  std::error_code ec;
  if (source.directory_required && !std::filesystem::is_directory(source.directory, ec)) {
    throw ConfigError({"configuration directory \"" + source.directory + "\" does not exist"});
  }
  json merged = json::object();
  std::map<std::string, std::string> origins;
  std::vector<std::string> sources;
  for (const auto& file : source.files()) {
    if (std::filesystem::exists(file, ec)) read_file(file, merged, origins, sources, errors);
  }
  // Environment variables: `Section__Key__Sub=value`, for the known top-level sections only.
  for (const auto& [name, value] : source.env) {
    std::string key = name;
    if (name == "ASPNETCORE_URLS" || name == "NSL_URLS") key = "Urls";
    if (key.find("__") == std::string::npos && key != "Urls") continue;
    const auto parts = split(key, "__");
    bool known = false;
    for (const char* s : kSections) known = known || iequals(parts[0], s);
    for (const auto* spec : specs) known = known || iequals(parts[0], spec->section);
    if (!known) continue;
    json patch = json::object();
    json* cursor = &patch;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) cursor = &(*cursor)[std::string(parts[i])];
    (*cursor)[std::string(parts.back())] = value;
    merge(merged, patch, "", "environment variable " + name, origins);
    sources.push_back("environment variable " + name);
  }
  if (!errors.empty()) throw ConfigError(std::move(errors));
  auto settings = from_json(merged, origins, specs);
  settings.environment = source.resolved_environment();
  settings.sources = std::move(sources);
  return settings;
}

Settings from_json(const json& doc, const std::map<std::string, std::string>& origins, const SectionSpecs& specs) {
  Settings s;
  s.server.urls.push_back(ListenUrl{"http", "0.0.0.0", 5000, "http://0.0.0.0:5000"});
  Errors errors;
  errors.origins = &origins;
  Reader root(&doc, "", errors);
  read_logging(root.section("Logging"), s.logging);
  read_urls(root, s.server);
  read_server(root.section("Server"), s.server);
  for (const auto& u : s.server.urls) {
    if (u.scheme == "https" && s.server.certificate_path.empty()) {
      errors.add("Urls", "\"" + u.text + "\" is HTTPS: set Server:Certificate:Path and Server:Certificate:KeyPath");
    }
  }
  read_services(root.section("Services"), s.services, s.security);
  read_rate_limiting(root.section("RateLimiting"), s.rate_limiting);
  read_jwt(root.section("Jwt"), s.jwt);
  {
    auto cs = root.section("ConnectionStrings");
    cs.string("DefaultConnection", s.connection_strings.default_connection);
    cs.string("Redis", s.connection_strings.redis);
    cs.finish();
  }
  read_database(root.section("Database"), s.database);
  {
    auto bc = root.section("Blockchain");
    read_network(bc.section("Neo"), s.blockchain.neo);
    read_network(bc.section("NeoX"), s.blockchain.neo_x);
    bc.finish();
  }
  read_security(root.section("Security"), s.security);
  read_enclave(root.section("Enclave"), s.enclave);
  {
    auto c = root.section("Cache");
    c.integer("L1TtlSeconds", s.cache.l1_ttl_seconds, 1, 86400);
    c.integer("L2TtlSeconds", s.cache.l2_ttl_seconds, 1, 7 * 86400);
    c.integer("L1MaxEntries", s.cache.l1_max_entries, 0, 10000000);
    c.integer("LeaseMilliseconds", s.cache.lease_ms, 50, 10000);
    c.finish();
  }
  // The services' sections; several specs may share one (each reads its own keys of `Quotas`).
  std::map<std::string, std::vector<const SectionSpec*>> by_section;
  for (const auto* spec : specs) by_section[to_lower(spec->section)].push_back(spec);
  for (const auto& [name, list] : by_section) {
    auto r = root.section(list.front()->section);
    for (const auto* spec : list) {
      if (s.modules.contains(spec->type)) throw std::logic_error("two settings specs for one type in " + spec->section);
      s.modules[spec->type] = spec->read(r);
    }
    r.finish();
  }
  {
    auto m = root.section("Metrics");
    m.integer("Port", s.metrics.port, 0, 65535);
    m.finish();
  }
  root.finish();
  if (!errors.list.empty()) throw ConfigError(std::move(errors.list));
  return s;
}

std::string mask_connection_string(const std::string& value) {
  if (value.empty()) return value;
  // URI form: scheme://user:password@host/...
  if (const auto scheme = value.find("://"); scheme != std::string::npos) {
    const auto at = value.find('@', scheme + 3);
    const auto colon = value.find(':', scheme + 3);
    std::string out = value;
    if (at != std::string::npos && colon != std::string::npos && colon < at) {
      out = value.substr(0, colon + 1) + "********" + value.substr(at);
    }
    // password=... in the query string
    const auto q = to_lower(out).find("password=");
    if (q != std::string::npos) {
      const auto end = out.find('&', q);
      out = out.substr(0, q + 9) + "********" + (end == std::string::npos ? "" : out.substr(end));
    }
    return out;
  }
  // Key=Value;... form (ADO.NET, StackExchange.Redis uses comma-separated options).
  std::string out;
  std::size_t i = 0;
  while (i < value.size()) {
    const auto next = value.find_first_of(";,", i);
    const auto item = value.substr(i, next == std::string::npos ? std::string::npos : next - i);
    const auto eq = item.find('=');
    const auto key = to_lower(trim(std::string_view(item).substr(0, eq == std::string::npos ? 0 : eq)));
    if (eq != std::string::npos && (key == "password" || key == "pwd"))
      out += item.substr(0, eq + 1) + "********";
    else
      out += item;
    if (next == std::string::npos) break;
    out.push_back(value[next]);
    i = next + 1;
  }
  return out;
}

json to_masked_json(const Settings& s, const SectionSpecs& specs) {
  json j;
  j["Environment"] = s.environment;
  j["Sources"] = s.sources;
  json levels = json::object();
  levels["Default"] = log::config_name(s.logging.levels.default_level);
  for (const auto& [k, v] : s.logging.levels.categories) levels[k] = log::config_name(v);
  j["Logging"]["LogLevel"] = levels;
  std::vector<std::string> urls;
  for (const auto& u : s.server.urls) urls.push_back(u.text);
  std::string joined;
  for (std::size_t i = 0; i < urls.size(); ++i) joined += (i ? ";" : "") + urls[i];
  j["Urls"] = joined;
  j["Server"] = {{"Threads", s.server.threads},
                 {"MaxRequestBodySize", s.server.max_request_body_bytes},
                 {"MaxRequestHeadersSize", s.server.max_request_headers_bytes},
                 {"RequestHeadersTimeoutSeconds", s.server.request_headers_timeout_seconds},
                 {"KeepAliveTimeoutSeconds", s.server.keep_alive_timeout_seconds},
                 {"ShutdownTimeoutSeconds", s.server.shutdown_timeout_seconds},
                 {"TrustedProxies", s.server.trusted_proxies},
                 {"Certificate", {{"Path", s.server.certificate_path}, {"KeyPath", s.server.certificate_key_path}}}};
  j["Services"] = {{"EnableAllServices", s.services.enable_all_services},
                   {"ServiceTimeoutSeconds", s.services.service_timeout_seconds},
                   {"MaxConcurrentRequests", s.services.max_concurrent_requests}};
  auto timespan = [](std::chrono::seconds window) {
    const auto w = window.count();
    char text[32];
    std::snprintf(text, sizeof text, "%02lld:%02lld:%02lld", static_cast<long long>(w / 3600),
                  static_cast<long long>(w / 60 % 60), static_cast<long long>(w % 60));
    return std::string(text);
  };
  json routes = json::object();
  for (const auto& [route, limit] : s.rate_limiting.routes) {
    routes[route] = {{"PermitLimit", limit.permit_limit}, {"Window", timespan(limit.window)}, {"QueueLimit", limit.queue_limit}};
  }
  j["RateLimiting"] = {
      {"EnableRateLimiting", s.rate_limiting.enabled}, {"PermitLimit", s.rate_limiting.permit_limit},
      {"Window", timespan(s.rate_limiting.window)},    {"QueueProcessingOrder", s.rate_limiting.queue_processing_order},
      {"QueueLimit", s.rate_limiting.queue_limit},     {"Routes", routes}};
  j["Jwt"] = {{"Secret", s.jwt.secret.empty() ? "(not set)" : "********"},
              {"Issuer", s.jwt.issuer},
              {"Audience", s.jwt.audience},
              {"ExpiryInDays", s.jwt.expiry_in_days},
              {"RefreshExpiryInDays", s.jwt.refresh_expiry_in_days}};
  j["ConnectionStrings"] = {{"DefaultConnection", mask_connection_string(s.connection_strings.default_connection)},
                            {"Redis", mask_connection_string(s.connection_strings.redis)}};
  j["Database"] = {{"SqlitePath", s.database.sqlite_path},
                   {"MigrateOnStartup", s.database.migrate_on_startup},
                   {"PoolSize", s.database.pool_size},
                   {"BusyTimeoutMs", s.database.busy_timeout_ms}};
  j["Blockchain"] = {{"Neo", {{"MainNet", s.blockchain.neo.main_net}, {"TestNet", s.blockchain.neo.test_net}}},
                     {"NeoX", {{"MainNet", s.blockchain.neo_x.main_net}, {"TestNet", s.blockchain.neo_x.test_net}}}};
  j["Security"] = {{"EnableSgx", s.security.enable_sgx},
                   {"RequireHttps", s.security.require_https},
                   {"EnableAuditLogging", s.security.enable_audit_logging},
                   {"AuditRetentionDays", s.security.audit_retention_days}};
  j["Enclave"] = {{"Supervise", s.enclave.supervise},
                  {"EnclavePath", s.enclave.enclave_path},
                  {"SocketPath", s.enclave.socket_path},
                  {"SealingKeyPath", s.enclave.sealing_key_path},
                  {"TokenPath", s.enclave.token_path},
                  {"MaxEnclaveThreads", s.enclave.max_enclave_threads},
                  {"RequestTimeoutMs", s.enclave.request_timeout_ms}};
  j["Cache"] = {{"L1TtlSeconds", s.cache.l1_ttl_seconds},
                {"L2TtlSeconds", s.cache.l2_ttl_seconds},
                {"L1MaxEntries", s.cache.l1_max_entries},
                {"LeaseMilliseconds", s.cache.lease_ms}};
  j["Metrics"] = {{"Port", s.metrics.port}};
  for (const auto* spec : specs) {
    const auto it = s.modules.find(spec->type);
    if (it == s.modules.end()) continue;
    auto& section = j[spec->section];
    if (!section.is_object()) section = json::object();
    spec->show(it->second.get(), section);
  }
  return j;
}

std::vector<std::string> restart_required_changes(const Settings& running, const Settings& next, const SectionSpecs& specs) {
  std::vector<std::string> changed;
  if (!(running.server == next.server)) changed.emplace_back("Server/Urls");
  if (!(running.services == next.services)) changed.emplace_back("Services");
  if (!(running.jwt == next.jwt)) changed.emplace_back("Jwt");
  if (!(running.connection_strings == next.connection_strings)) changed.emplace_back("ConnectionStrings");
  if (!(running.database == next.database)) changed.emplace_back("Database");
  if (!(running.blockchain == next.blockchain)) changed.emplace_back("Blockchain");
  if (!(running.security == next.security)) changed.emplace_back("Security");
  if (!(running.enclave == next.enclave)) changed.emplace_back("Enclave");
  if (!(running.metrics == next.metrics)) changed.emplace_back("Metrics");
  if (!(running.cache == next.cache)) changed.emplace_back("Cache");
  for (const auto* spec : specs) {
    const auto a = running.modules.find(spec->type);
    const auto b = next.modules.find(spec->type);
    if (a == running.modules.end() || b == next.modules.end()) continue;
    if (!spec->same(a->second.get(), b->second.get()) &&
        std::find(changed.begin(), changed.end(), spec->section) == changed.end()) {
      changed.push_back(spec->section);
    }
  }
  return changed;
}

}  // namespace nsl::config
