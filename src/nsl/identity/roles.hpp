#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nsl::identity {

/// The roles an account can have, each a set of permissions ("service:action"; "service:*" and
/// "*" are wildcards).
enum class Role { admin, operator_, user, auditor };

std::optional<Role> parse_role(std::string_view name);
const char* role_name(Role role);
/// The permissions a role grants.
const std::vector<std::string>& role_permissions(Role role);

/// Whether `granted` (which may hold wildcards) allows `needed` (a concrete permission).
bool allows(const std::vector<std::string>& granted, std::string_view needed);
/// Every permission of `requested` that `granted` covers; a requested wildcard is kept only if
/// `granted` covers it entirely. Used to scope API keys: never more than their account has.
std::vector<std::string> narrow(const std::vector<std::string>& granted, const std::vector<std::string>& requested);
/// Every permission both `a` and `b` allow: the entries of one the other covers, and where a
/// wildcard of one is wider, the entries of the other it covers. Used when an account's role
/// changed under a token: the token keeps what the new role also grants.
std::vector<std::string> intersect(const std::vector<std::string>& a, const std::vector<std::string>& b);
/// Whether a permission string is well formed ("*", "service:*" or "service:action").
bool valid_permission(std::string_view p);

}  // namespace nsl::identity
