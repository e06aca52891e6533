#include "nsl/http/router.hpp"

#include <cstdint>

#include <algorithm>
#include <stdexcept>

#include "nsl/core/strings.hpp"

namespace nsl::http {
namespace {

std::vector<std::string_view> path_segments(std::string_view path) {
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (path.empty()) return {};
  return split(path, "/");
}

bool is_param(std::string_view s) { return s.size() > 2 && s.front() == '{' && s.back() == '}'; }

}  // namespace

void Router::add(Route route) {
  for (const auto& r : routes_) {
    if (r.verb == route.verb && r.pattern == route.pattern) {
      throw std::logic_error("duplicate route " + std::string(beast_http::to_string(route.verb)) + " " + route.pattern);
    }
  }
  Compiled c;
  for (auto s : path_segments(route.pattern)) c.segments.emplace_back(s);
  routes_.push_back(std::move(route));
  compiled_.push_back(std::move(c));
}

RouteMatch Router::match(Verb verb, std::string_view path) const {
  RouteMatch out;
  const auto raw = path_segments(path);
  std::vector<std::string> segments;
  segments.reserve(raw.size());
  for (auto s : raw) {
    auto decoded = percent_decode(s, false);
    if (!decoded) {
      out.bad_path = true;
      return out;
    }
    segments.push_back(std::move(*decoded));
  }
  // Of the patterns that match, only the most specific count: a literal segment beats a parameter
  // at the first place they differ (so /v1/keys/transport-key is never an {id} of /v1/keys/{id},
  // whatever the verb). Among those, the first registered for the verb serves the request.
  std::vector<std::size_t> candidates;
  std::uint64_t best = 0;
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    const auto& pattern = compiled_[i].segments;
    if (pattern.size() != segments.size()) continue;
    bool ok = true;
    std::uint64_t literal = 0;  // bit 63 - k: segment k is literal
    for (std::size_t k = 0; k < pattern.size() && ok; ++k) {
      ok = is_param(pattern[k]) ? !segments[k].empty() : pattern[k] == segments[k];
      if (!is_param(pattern[k]) && k < 64) literal |= std::uint64_t{1} << (63 - k);
    }
    if (!ok || (!candidates.empty() && literal < best)) continue;
    if (candidates.empty() || literal > best) {
      candidates.clear();
      best = literal;
    }
    candidates.push_back(i);
  }
  std::vector<Verb> allowed;
  for (const auto i : candidates) {
    const auto& r = routes_[i];
    if (r.verb == verb || (verb == Verb::head && r.verb == Verb::get)) {
      out.route = &r;
      const auto& pattern = compiled_[i].segments;
      for (std::size_t k = 0; k < pattern.size(); ++k) {
        if (is_param(pattern[k])) out.params.emplace_back(pattern[k].substr(1, pattern[k].size() - 2), segments[k]);
      }
      return out;
    }
    allowed.push_back(r.verb);
    if (r.verb == Verb::get) allowed.push_back(Verb::head);
  }
  std::sort(allowed.begin(), allowed.end(), [](Verb a, Verb b) { return beast_http::to_string(a) < beast_http::to_string(b); });
  allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
  for (auto v : allowed) {
    if (!out.allow.empty()) out.allow += ", ";
    out.allow += beast_http::to_string(v);
  }
  return out;
}

}  // namespace nsl::http
