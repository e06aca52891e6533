"""The OpenAPI 3.1 document at GET /openapi.json: generated from the route table, valid, covering
every route, and true to what the server answers."""
import jsonschema
import pytest
from openapi_spec_validator import validate

from test_keys import api, server  # noqa: F401 (fixtures)

# Routes whose operation is not written yet: none. The set must equal what the document shows: a
# new route without an operation fails.
UNDOCUMENTED = set()


def operations(doc):
    for path, item in doc["paths"].items():
        for verb, op in item.items():
            yield verb, path, op


def test_the_document_is_valid_openapi_3_1(server):
    r = server.get("/openapi.json")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    doc = r.json()
    assert doc["openapi"] == "3.1.0" and doc["info"]["version"]
    validate(doc)  # raises on any violation of the OpenAPI 3.1 schema


def test_every_route_has_an_operation(server):
    doc = server.get("/openapi.json").json()
    ops = {(verb, path): op for verb, path, op in operations(doc)}
    # The routes the server has, whatever their documentation: spot-check that they are all there.
    for route in [("get", "/health"), ("get", "/metrics"), ("post", "/v1/secrets"), ("post", "/v1/keys"),
                  ("post", "/v1/auth/token"), ("post", "/v1/storage/store/{chain}"), ("get", "/openapi.json")]:
        assert route in ops, route
    missing = {k for k, op in ops.items() if not op.get("summary")
               or not any(200 <= int(s) < 300 for s in op["responses"])}
    assert missing == UNDOCUMENTED


def test_operations_state_authentication_permissions_and_problems(server):
    doc = server.get("/openapi.json").json()
    ops = {(verb, path): op for verb, path, op in operations(doc)}
    live = ops[("get", "/health/live")]
    assert live["security"] == [] and "401" not in live["responses"]
    create = ops[("post", "/v1/secrets")]
    assert "security" not in create and create["x-permission"] == "secrets:write"
    for status in ["400", "401", "403", "409", "413", "429", "503"]:
        assert create["responses"][status]["content"]["application/problem+json"]["schema"] == {
            "$ref": "#/components/schemas/Problem"}, status
    reveal = ops[("post", "/v1/secrets/{name}/reveal")]
    assert reveal["parameters"][0] == {"name": "name", "in": "path", "required": True, "schema": {
        "type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[A-Za-z0-9._:-]+$"}}


def conforms(doc, verb, path, response):
    """Checks a real answer against the schema the document gives for it."""
    op = doc["paths"][path][verb]
    spec = op["responses"][str(response.status_code)]
    if "content" not in spec:
        assert response.content == b""
        return
    media = response.headers["Content-Type"].split(";")[0]
    (declared, body), = spec["content"].items()
    assert media == declared.split(";")[0], (media, declared)
    schema = body["schema"]
    if schema.get("$ref"):
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if media.endswith("json"):
        jsonschema.validate(response.json(), schema, cls=jsonschema.Draft202012Validator)


@pytest.mark.usefixtures("backend")
def test_answers_match_their_schemas(server):
    doc = server.get("/openapi.json").json()
    admin = server.admin
    checks = [
        ("get", "/health/live", "/health/live", None, 200),
        ("get", "/health/ready", "/health/ready", None, 200),
        ("get", "/health", "/health", None, 200),
        ("get", "/metrics", "/metrics", None, 200),
        ("post", "/v1/secrets", "/v1/secrets", {"name": "api.token", "value": "v1"}, 201),
        ("post", "/v1/secrets", "/v1/secrets", {"name": "api.token", "value": "again"}, 409),
        ("post", "/v1/secrets", "/v1/secrets", {"name": "bad name!", "value": "x"}, 400),
        ("put", "/v1/secrets/{name}", "/v1/secrets/api.token", {"value": "v2"}, 200),
        ("put", "/v1/secrets/{name}", "/v1/secrets/nothing", {"value": "v2"}, 404),
        ("get", "/v1/secrets", "/v1/secrets", None, 200),
        ("get", "/v1/secrets/{name}", "/v1/secrets/api.token", None, 200),
        ("post", "/v1/secrets/{name}/reveal", "/v1/secrets/api.token/reveal", None, 200),
        ("get", "/v1/attestation/report", "/v1/attestation/report?nonce=" + "ab" * 16, None, 200),
        ("get", "/v1/attestation/report", "/v1/attestation/report?nonce=zz", None, 400),
        ("delete", "/v1/secrets/{name}", "/v1/secrets/api.token", None, 204),
        ("delete", "/v1/secrets/{name}", "/v1/secrets/api.token", None, 404),
        ("get", "/v1/keys/transport-key", "/v1/keys/transport-key", None, 200),
        ("get", "/v1/keys", "/v1/keys", None, 200),
        ("get", "/v1/keys/{id}", "/v1/keys/no-such-key", None, 404),
        ("post", "/v1/keys", "/v1/keys", {"name": "bad name!", "kind": "secp256r1"}, 400),
    ]
    for verb, pattern, path, body, status in checks:
        r = api(server, verb.upper(), path, admin, body)
        assert r.status_code == status, (verb, path, r.text)
        conforms(doc, verb, pattern, r)
    # A key through its life, each answer checked against its operation.
    keys = [("post", "/v1/keys", "/v1/keys", {"name": "doc-n3", "kind": "secp256r1", "exportable": True}, 201),
            ("post", "/v1/keys", "/v1/keys", {"name": "doc-n3", "kind": "secp256r1"}, 409),
            ("post", "/v1/keys", "/v1/keys", {"name": "doc-x", "kind": "secp256k1"}, 201)]
    ids = {}
    for verb, pattern, path, body, status in keys:
        r = api(server, verb.upper(), path, admin, body)
        assert r.status_code == status, (verb, path, r.text)
        conforms(doc, verb, pattern, r)
        if status == 201:
            ids[body["name"]] = r.json()["id"]
    n3, x = ids["doc-n3"], ids["doc-x"]
    digest = {"digest": "11" * 32}
    recipient = server.get("/v1/keys/transport-key", headers=admin).json()["public_key"]
    tx = {"transaction": {"chainId": 47763, "nonce": 0, "gasLimit": 21000, "maxFeePerGas": 1, "maxPriorityFeePerGas": 1,
                          "to": "0x" + "22" * 20, "value": 1}}
    for verb, pattern, path, body, status in [
            ("get", "/v1/keys/{id}", f"/v1/keys/{n3}", None, 200),
            ("post", "/v1/keys/{id}/sign", f"/v1/keys/{x}/sign", digest, 200),
            ("post", "/v1/keys/{id}/sign", f"/v1/keys/{x}/sign", {"digest": "11"}, 400),
            ("post", "/v1/keys/{id}/sign-message", f"/v1/keys/{n3}/sign-message", {"message": "hi"}, 200),
            ("post", "/v1/keys/{id}/sign-transaction", f"/v1/keys/{x}/sign-transaction", tx, 200),
            ("post", "/v1/keys/{id}/verify", f"/v1/keys/{n3}/verify", {"message": "hi", "signature": "00" * 64}, 200),
            ("post", "/v1/keys/{id}/export", f"/v1/keys/{n3}/export", {"recipient": recipient}, 200),
            ("post", "/v1/keys/{id}/export", f"/v1/keys/{x}/export", {"recipient": recipient}, 409),
            ("post", "/v1/keys/{id}/rotate", f"/v1/keys/{n3}/rotate", None, 200),
            ("post", "/v1/keys/{id}/disable", f"/v1/keys/{n3}/disable", None, 200),
            ("post", "/v1/keys/{id}/sign", f"/v1/keys/{n3}/sign", digest, 409),
            ("delete", "/v1/keys/{id}", f"/v1/keys/{n3}", None, 204),
            ("delete", "/v1/keys/{id}", f"/v1/keys/{n3}", None, 404)]:
        r = api(server, verb.upper(), path, admin, body)
        assert r.status_code == status, (verb, path, r.text)
        conforms(doc, verb, pattern, r)
    # Storage: a value through its life, and the administration routes.
    store = {"key": "doc:1", "value": {"n": 1}, "encrypted": True, "metadata": {"m": "x"}, "ttl_seconds": 3600}
    owner = api(server, "POST", "/v1/storage/store/neo-n3", admin, store).json()["owner"]
    for verb, pattern, path, body, status in [
            ("post", "/v1/storage/store/{chain}", "/v1/storage/store/neo-n3", {"key": "doc:2", "value": [1]}, 200),
            ("post", "/v1/storage/store/{chain}", "/v1/storage/store/neo-n3", {"key": "bad key", "value": 1}, 400),
            ("get", "/v1/storage/{chain}/{key}", "/v1/storage/neo-n3/doc:1", None, 200),
            ("get", "/v1/storage/{chain}/{key}", "/v1/storage/neo-n3/none", None, 404),
            ("get", "/v1/storage/{chain}/{key}/metadata", "/v1/storage/neo-n3/doc:1/metadata", None, 200),
            ("get", "/v1/storage/{chain}", "/v1/storage/neo-n3?limit=1", None, 200),
            ("post", "/v1/storage/{chain}/{key}/share", "/v1/storage/neo-n3/doc:1/share",
             {"access_level": "shared", "principals": ["bob"]}, 200),
            ("delete", "/v1/storage/{chain}/{key}", "/v1/storage/neo-n3/doc:2", None, 204),
            ("get", "/v1/storage/admin/compliance-report", "/v1/storage/admin/compliance-report", None, 200),
            ("get", "/v1/storage/admin/users/{owner}/export", f"/v1/storage/admin/users/{owner}/export", None, 200),
            ("delete", "/v1/storage/admin/users/{owner}", f"/v1/storage/admin/users/{owner}", None, 200)]:
        r = api(server, verb.upper(), path, admin, body)
        assert r.status_code == status, (verb, path, r.text)
        conforms(doc, verb, pattern, r)
    # The audit trail, and a malformed filter.
    for path, status in [("/v1/audit?limit=2", 200), ("/v1/audit?status=abc", 400)]:
        r = api(server, "GET", path, admin)
        assert r.status_code == status, (path, r.text)
        conforms(doc, "get", "/v1/audit", r)
    # Identity: tokens, the caller, API keys and the administration of accounts.
    key = admin["X-API-Key"]
    tokens = api(server, "POST", "/v1/auth/token", {}, {"api_key": key})
    assert tokens.status_code == 200, tokens.text
    conforms(doc, "post", "/v1/auth/token", tokens)
    bearer = {"Authorization": "Bearer " + tokens.json()["access_token"]}
    refreshed = api(server, "POST", "/v1/auth/refresh", {}, {"refresh_token": tokens.json()["refresh_token"]})
    conforms(doc, "post", "/v1/auth/refresh", refreshed)
    created = api(server, "POST", "/v1/admin/accounts", admin, {"name": "doc-user", "role": "user"})
    assert created.status_code == 201, created.text
    conforms(doc, "post", "/v1/admin/accounts", created)
    user = created.json()["account"]["id"]
    for verb, pattern, path, body, headers, status in [
            ("post", "/v1/auth/token", "/v1/auth/token", {"api_key": "nsl_wrong"}, {}, 401),
            ("get", "/v1/auth/me", "/v1/auth/me", None, bearer, 200),
            ("get", "/v1/auth/me", "/v1/auth/me", None, admin, 200),
            ("get", "/v1/auth/keys", "/v1/auth/keys", None, {}, 200),
            ("post", "/v1/auth/wallet/challenge", "/v1/auth/wallet/challenge",
             {"chain": "neo-x", "address": "0x" + "ab" * 20}, {}, 200),
            ("post", "/v1/auth/wallet/challenge", "/v1/auth/wallet/challenge", {"chain": "btc", "address": "x"}, {}, 400),
            ("post", "/v1/auth/wallet/sign-in", "/v1/auth/wallet/sign-in", {"nonce": "00", "signature": "00"}, {}, 401),
            ("get", "/v1/api-keys", "/v1/api-keys", None, admin, 200),
            ("get", "/v1/admin/accounts", "/v1/admin/accounts?role=user", None, admin, 200),
            ("get", "/v1/admin/accounts/{id}", f"/v1/admin/accounts/{user}", None, admin, 200),
            ("get", "/v1/admin/accounts/{id}", "/v1/admin/accounts/none", None, admin, 404),
            ("post", "/v1/admin/accounts/{id}/role", f"/v1/admin/accounts/{user}/role", {"role": "auditor"}, admin, 200),
            ("post", "/v1/admin/accounts/{id}/disable", f"/v1/admin/accounts/{user}/disable", None, admin, 200),
            ("post", "/v1/admin/accounts/{id}/enable", f"/v1/admin/accounts/{user}/enable", None, admin, 200),
            ("post", "/v1/auth/revoke", "/v1/auth/revoke", None, bearer, 204)]:
        r = api(server, verb.upper(), path, headers, body)
        assert r.status_code == status, (verb, path, r.text)
        conforms(doc, verb, pattern, r)
    own = api(server, "POST", "/v1/api-keys", admin, {"name": "doc-key", "permissions": ["keys:read"]})
    assert own.status_code == 201, own.text
    conforms(doc, "post", "/v1/api-keys", own)
    other = api(server, "POST", f"/v1/admin/accounts/{user}/api-keys", admin, {"name": "second"})
    assert other.status_code == 201, other.text
    conforms(doc, "post", "/v1/admin/accounts/{id}/api-keys", other)
    for verb, pattern, path, status in [
            ("delete", "/v1/api-keys/{id}", f"/v1/api-keys/{own.json()['id']}", 204),
            ("delete", "/v1/api-keys/{id}", "/v1/api-keys/none", 404),
            ("delete", "/v1/admin/accounts/{id}/api-keys/{key_id}",
             f"/v1/admin/accounts/{user}/api-keys/{other.json()['id']}", 204)]:
        r = api(server, verb.upper(), path, admin)
        assert r.status_code == status, (verb, path, r.text)
        conforms(doc, verb, pattern, r)
    # Without a credential: a 401 problem as documented.
    r = api(server, "GET", "/v1/secrets", {})
    assert r.status_code == 401
    conforms(doc, "get", "/v1/secrets", r)
