#include "nsl/identity/roles.hpp"

#include <algorithm>

namespace nsl::identity {

std::optional<Role> parse_role(std::string_view name) {
  if (name == "admin") return Role::admin;
  if (name == "operator") return Role::operator_;
  if (name == "user") return Role::user;
  if (name == "auditor") return Role::auditor;
  return std::nullopt;
}

const char* role_name(Role role) {
  switch (role) {
    case Role::admin:
      return "admin";
    case Role::operator_:
      return "operator";
    case Role::user:
      return "user";
    case Role::auditor:
      return "auditor";
  }
  return "";
}

const std::vector<std::string>& role_permissions(Role role) {
  static const std::vector<std::string> admin{"*"};
  static const std::vector<std::string> operator_{"keys:create", "keys:read",    "keys:sign",    "secrets:*", "storage:*",
                                                  "oracle:*",    "randomness:*", "automation:*", "compute:*"};
  static const std::vector<std::string> user{"keys:create",           "keys:read",         "keys:sign",     "secrets:write",
                                             "secrets:read-metadata", "storage:read",      "storage:write", "oracle:request",
                                             "randomness:request",    "automation:manage", "compute:run"};
  static const std::vector<std::string> auditor{"audit:read", "accounts:read", "storage:read-metadata", "storage:export",
                                                "storage:report"};
  switch (role) {
    case Role::admin:
      return admin;
    case Role::operator_:
      return operator_;
    case Role::user:
      return user;
    case Role::auditor:
      return auditor;
  }
  return user;
}

namespace {

// Whether one granted entry covers `needed` (which may itself be a wildcard).
bool covers(std::string_view granted, std::string_view needed) {
  if (granted == "*") return true;
  if (granted == needed) return true;
  if (granted.size() > 2 && granted.substr(granted.size() - 2) == ":*") {
    const auto service = granted.substr(0, granted.size() - 1);  // "keys:"
    return needed.substr(0, service.size()) == service;
  }
  return false;
}

}  // namespace

bool allows(const std::vector<std::string>& granted, std::string_view needed) {
  return std::any_of(granted.begin(), granted.end(), [&](const std::string& g) { return covers(g, needed); });
}

std::vector<std::string> narrow(const std::vector<std::string>& granted, const std::vector<std::string>& requested) {
  std::vector<std::string> out;
  for (const auto& r : requested) {
    if (allows(granted, r) && std::find(out.begin(), out.end(), r) == out.end()) out.push_back(r);
  }
  return out;
}

std::vector<std::string> intersect(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::string> out;
  auto add = [&out](const std::string& p) {
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
  };
  for (const auto& x : b) {
    if (allows(a, x)) {
      add(x);
      continue;
    }
    for (const auto& y : a) {
      if (covers(x, y)) add(y);
    }
  }
  return out;
}

bool valid_permission(std::string_view p) {
  if (p == "*") return true;
  const auto colon = p.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == p.size() || p.size() > 64) return false;
  auto word = [](std::string_view w) {
    return std::all_of(w.begin(), w.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '-' || (c >= '0' && c <= '9'); });
  };
  const auto action = p.substr(colon + 1);
  return word(p.substr(0, colon)) && (action == "*" || word(action));
}

}  // namespace nsl::identity
