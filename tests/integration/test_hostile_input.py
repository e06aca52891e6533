"""Hostile text on every route that takes some: bytes that are not UTF-8 and NUL in paths and
queries, U+0000 and lone surrogates in JSON bodies, JSON nested a million levels deep. Each gets a
400 problem+json naming the field, never a 500 or a crash, on SQLite and on PostgreSQL; the server
and its audit trail keep working afterwards."""
import pytest
import requests

from test_audit import wait_rows
from test_keys import api, server  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("backend")

# Not UTF-8 (a lone byte, a cut sequence, an overlong form, a surrogate) or NUL.
ODD = ["%FF%FE", "%00", "a%C3", "%C0%AF", "%ED%A0%80"]

PATHS = [("GET", "/v1/admin/accounts/{x}"), ("GET", "/v1/keys/{x}"), ("GET", "/v1/secrets/{x}"),
         ("GET", "/v1/storage/neo-n3/{x}"), ("GET", "/v1/storage/neo-n3/{x}/metadata"), ("GET", "/v1/storage/{x}"),
         ("GET", "/v1/storage/admin/users/{x}/export"), ("GET", "/v1/storage/{x}/k1"),
         ("POST", "/v1/admin/accounts/{x}/disable"), ("POST", "/v1/admin/accounts/{x}/api-keys"),
         ("POST", "/v1/keys/{x}/sign"), ("POST", "/v1/keys/{x}/disable"), ("POST", "/v1/secrets/{x}/reveal"),
         ("POST", "/v1/storage/neo-n3/{x}/share"), ("POST", "/v1/storage/store/{x}"), ("PUT", "/v1/secrets/{x}"),
         ("DELETE", "/v1/storage/neo-n3/{x}"), ("DELETE", "/v1/{x}"), ("GET", "/{x}")]
# Query parameters these routes read.
QUERIES = ["/v1/storage/neo-n3?prefix={x}", "/v1/storage/neo-n3?cursor={x}", "/v1/audit?principal={x}",
           "/v1/audit?service={x}", "/v1/audit?request_id={x}", "/v1/audit?from={x}", "/v1/storage/neo-n3/k1?owner={x}"]

# (route, body, the member the 400 names)
NUL_BODIES = [
    ("/v1/storage/store/neo-n3", {"key": "k1", "value": {"a": "x\u0000y"}}, "value"),
    ("/v1/storage/store/neo-n3", {"key": "k2", "value": ["x\u0000y"], "encrypted": True}, "value"),
    ("/v1/storage/store/neo-n3", {"key": "k3", "value": 1, "metadata": {"m": "\u0000"}}, "metadata"),
    ("/v1/storage/store/neo-n3", {"key": "k4", "value": {"x\u0000": 1}}, "value"),
    ("/v1/storage/store/neo-n3", {"key": "k5", "value": 1, "access_level": "shared", "principals": ["a\u0000b"]},
     "principals"),
    ("/v1/secrets", {"name": "s\u0000", "value": "v"}, "name"),
    ("/v1/secrets", {"name": "s1", "value": "v\u0000w"}, "value"),
    ("/v1/api-keys", {"name": "k\u0000", "permissions": ["storage:read"]}, "name"),
    ("/v1/api-keys", {"name": "k", "permissions": ["storage:read\u0000"]}, "permissions"),
    ("/v1/keys", {"name": "key\u0000", "kind": "secp256r1"}, "name"),
    ("/v1/admin/accounts", {"name": "acct\u0000", "role": "user"}, "name"),
    ("/v1/auth/token", {"api_key": "nsl_\u0000"}, "api_key"),
    ("/v1/auth/wallet/challenge", {"chain": "neo-x", "address": "0x\u0000"}, "address"),
    ("/v1/storage/store/neo-n3", {"key": "k6", "\u0000": 1, "value": 1}, "\ufffd"),
]


def problem(r, what, field):
    assert r.status_code == 400, f"{what}: {r.status_code} {r.text[:300]}"
    assert r.headers["Content-Type"].startswith("application/problem+json"), what
    if field:
        assert r.json()["errors"][0]["field"] == field, f"{what}: {r.text[:300]}"


def test_odd_bytes_in_paths_and_queries_are_400(server):
    for method, template in PATHS:
        for odd in ODD:
            path = template.replace("{x}", odd)
            r = requests.request(method, server.url + path, json={"value": 1}, headers=server.admin, timeout=10)
            problem(r, f"{method} {path}", None)
            assert "percent-escape" in r.json()["detail"]
    for template in QUERIES:
        name = template.split("?")[1].split("=")[0]
        for odd in ODD:
            path = template.replace("{x}", odd)
            problem(requests.get(server.url + path, headers=server.admin, timeout=10), "GET " + path, name)
    assert api(server, "GET", "/v1/auth/me", server.admin).status_code == 200


def test_nul_in_json_bodies_is_400_naming_the_member(server):
    for path, body, field in NUL_BODIES:
        problem(api(server, "POST", path, server.admin, body), f"POST {path} {body!r}", field)
    # Nothing was stored.
    assert api(server, "GET", "/v1/storage/neo-n3", server.admin).json()["items"] == []
    assert api(server, "GET", "/v1/secrets", server.admin).json()["secrets"] == []
    # An escaped backslash before "u0000" is not U+0000: stored and read back as it was.
    r = requests.post(server.url + "/v1/storage/store/neo-n3", data='{"key":"k7","value":"a\\\\u0000b"}',
                      headers={**server.admin, "Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 200, r.text
    assert api(server, "GET", "/v1/storage/neo-n3/k7", server.admin).json()["value"] == "a\\u0000b"
    # A lone surrogate escape is not valid JSON text.
    r = requests.post(server.url + "/v1/storage/store/neo-n3", data='{"key":"k8","value":"\\ud800"}',
                      headers={**server.admin, "Content-Type": "application/json"}, timeout=10)
    problem(r, "lone surrogate", None)
    assert api(server, "GET", "/v1/auth/me", server.admin).status_code == 200


def test_json_nested_deeper_than_100_levels_is_400_and_the_server_lives(server):
    nested = lambda depth: "[" * depth + "]" * depth
    # The body's object is the first level: a value 99 deep is 100 in all, the most allowed.
    r = requests.post(server.url + "/v1/storage/store/neo-n3", data='{"key":"deep","value":' + nested(99) + "}",
                      headers={**server.admin, "Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 200, r.text
    assert api(server, "GET", "/v1/storage/neo-n3/deep", server.admin).json()["value"] == eval(nested(99))
    for depth in (100, 1000, 1_000_000):
        for path, headers in (("/v1/storage/store/neo-n3", server.admin), ("/v1/secrets", server.admin),
                              ("/v1/auth/token", {}), ("/v1/auth/wallet/sign-in", {})):
            body = '{"key":"deep2","name":"deep","value":' + nested(depth) + "}"
            r = requests.post(server.url + path, data=body, headers={**headers, "Content-Type": "application/json",
                                                                      "X-Request-Id": f"deep-{depth}"}, timeout=30)
            problem(r, f"POST {path} depth {depth}", "body")
    assert api(server, "GET", "/v1/auth/me", server.admin).status_code == 200
    # The refusals are in the audit trail, their bodies kept as (truncated) text.
    [first, *_] = wait_rows(server, "request_id = ?", ("deep-1000000",), count=4)
    assert first["status_code"] == 400 and first["request_data"]


# Members the routes read, each given every JSON type (and sizes past the limits) in turn.
FIELDS = ["key", "value", "encrypted", "access_level", "principals", "ttl_seconds", "metadata", "name", "kind",
          "chain", "digest", "message", "transaction", "network", "api_key", "permissions", "role", "address", "nonce",
          "signature", "refresh_token", "token", "expires_in_days", "public_key", "private_key", "wif", "format",
          "transport_public_key"]
CONFUSED = [None, True, 0, -1, 1.5, 1e300, 18446744073709551616, "", "x", "x" * 5000, [], {}, ["x"], {"a": 1},
            [[[]]], "\u00e9\U0001F600"]
POST_ROUTES = ["/v1/storage/store/neo-n3", "/v1/storage/neo-n3/k1/share", "/v1/secrets", "/v1/api-keys", "/v1/keys",
               "/v1/keys/import", "/v1/admin/accounts", "/v1/auth/token", "/v1/auth/refresh", "/v1/auth/revoke",
               "/v1/auth/wallet/challenge", "/v1/auth/wallet/sign-in"]


def test_every_json_type_in_every_member_gets_an_answer_not_a_500(server):
    session = requests.Session()
    # An entry and a key to act on, so that routes get past their lookups.
    assert api(server, "POST", "/v1/storage/store/neo-n3", server.admin, {"key": "k1", "value": 1}).status_code == 200
    key = api(server, "POST", "/v1/keys", server.admin, {"name": "fuzz", "kind": "secp256r1"})
    assert key.status_code == 201, key.text
    key_id = key.json()["id"]
    routes = POST_ROUTES + [f"/v1/keys/{key_id}/sign", f"/v1/keys/{key_id}/sign-message",
                            f"/v1/keys/{key_id}/sign-transaction", f"/v1/keys/{key_id}/verify"]
    failures = []
    for path in routes:
        for field in FIELDS:
            for value in CONFUSED:
                r = session.post(server.url + path, json={"key": "k1", field: value}, headers=server.admin, timeout=10)
                if r.status_code >= 500 or (r.status_code >= 400 and
                                            not r.headers["Content-Type"].startswith("application/problem+json")):
                    failures.append(f"{path} {field}={str(value)[:40]!r}: {r.status_code} {r.text[:160]}")
    assert not failures, "\n".join(failures[:20])
    assert api(server, "GET", "/v1/auth/me", server.admin).status_code == 200
