#pragma once

#include "nsl/http/router.hpp"
#include "nsl/services/storage/storage.hpp"

namespace nsl::services::storage {

/// The Storage routes, each one parse → StorageService call → answer. Values live under keys in
/// the owner's address space of a chain (`neo-n3` | `neo-x`):
///   POST   /v1/storage/store/{chain} {key, value, encrypted?, access_level?, principals?,
///                                     ttl_seconds?, metadata?}   create or replace    storage:write
///   GET    /v1/storage/{chain}/{key}[?owner=O]                   the value            storage:read
///   GET    /v1/storage/{chain}/{key}/metadata[?owner=O]          without the value    storage:read
///   GET    /v1/storage/{chain}?prefix=&limit=&cursor=            newest first         storage:read
///   DELETE /v1/storage/{chain}/{key}                                                  storage:write
///   POST   /v1/storage/{chain}/{key}/share {access_level, principals?}                storage:write
///   GET    /v1/storage/admin/users/{owner}/export                everything of one owner   storage:export
///   DELETE /v1/storage/admin/users/{owner}                       erase one owner           storage:erase
///   GET    /v1/storage/admin/compliance-report[?owner=O]         guide §17.2               storage:report
void add_routes(http::Router& router, StorageService& storage);

}  // namespace nsl::services::storage
