#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/ip/address.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "nsl/core/asio.hpp"

namespace nsl::http {

namespace beast_http = boost::beast::http;
using Request = beast_http::request<beast_http::string_body>;
using Response = beast_http::response<beast_http::string_body>;
using Verb = beast_http::verb;
using Field = beast_http::field;

/// Facts about the connection a request arrived on.
struct ConnectionInfo {
  asio::ip::address remote;
  std::uint16_t remote_port = 0;
  bool tls = false;
};

struct Route;

/// The address space an account name belongs to. Names of the form of a Neo N3 address (N and 33
/// more Base58 characters) or a Neo X address (0x and 40 hex digits, in any case) are wallet
/// accounts' own, proven by sign-in: no account created by name may take one.
enum class AddressSpace { none, neo_n3, neo_x };
inline AddressSpace address_space_of(std::string_view name) {
  auto all = [](std::string_view s, auto pred) {
    for (const char c : s) {
      if (!pred(c)) return false;
    }
    return true;
  };
  const auto base58 = [](char c) {
    return (c >= '1' && c <= '9') || (c >= 'A' && c <= 'Z' && c != 'I' && c != 'O') || (c >= 'a' && c <= 'z' && c != 'l');
  };
  const auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); };
  if (name.size() == 34 && name[0] == 'N' && all(name, base58)) return AddressSpace::neo_n3;
  if (name.size() == 42 && name[0] == '0' && (name[1] == 'x' || name[1] == 'X') && all(name.substr(2), hex)) {
    return AddressSpace::neo_x;
  }
  return AddressSpace::none;
}

/// Who made a request, once authenticated: the account (tenant), its role, and the permissions
/// this credential carries.
struct Principal {
  std::string account_id;
  std::string name;
  std::string role;
  std::vector<std::string> permissions;
  std::string method;    // "jwt" | "api-key"
  std::string token_id;  // the access token's jti (revocation), or the API key's id
};

/// Everything a handler may know about the request it serves. Built by the pipeline.
struct Context {
  Context(Request& r, const ConnectionInfo& c, std::string_view p, std::string_view q)
      : request(r), connection(c), path(p), query(q) {}

  Request& request;
  const ConnectionInfo& connection;
  std::string_view path;                                    // decoded path, without the query string
  std::string_view query;                                   // raw query string, without '?'
  std::vector<std::pair<std::string, std::string>> params;  // path parameters by name
  std::string request_id;
  std::string correlation_id;
  std::optional<Principal> principal;  // set for every route that is not public
  const Route* route = nullptr;
  bool https = false;  // TLS, or X-Forwarded-Proto: https from a trusted proxy
  std::chrono::steady_clock::time_point deadline{};
  std::vector<std::pair<std::string, std::string>> response_headers;  // added to whatever the response is
  /// Set by handlers when an admin or auditor acts on another account: its audit record becomes an
  /// "admin_action" naming that account.
  std::string acting_on;

  /// A path parameter; the router guarantees it exists for the matched route.
  std::string_view param(std::string_view name) const;
  /// A query parameter, percent-decoded; std::nullopt when absent. A value that does not decode
  /// to UTF-8 text without NUL is a 400 naming the parameter.
  std::optional<std::string> query_param(std::string_view name) const;
};

/// A request handler: a coroutine that returns the response or throws a RequestError.
using Handler = std::function<asio::awaitable<Response>(Context&)>;

/// Builds a JSON response with the given status.
Response json_response(unsigned status, std::string body);
/// Builds a plain-text response with the given status and content type.
Response text_response(unsigned status, std::string body, std::string_view content_type);

/// Percent-decodes one path segment or query component (`+` is a space only in queries).
/// std::nullopt for malformed escapes, a decoded NUL byte or bytes that are not UTF-8.
std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space);

}  // namespace nsl::http
