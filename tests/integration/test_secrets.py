"""The Secrets service over real HTTP: sealed at rest, versioned, revealed only with the explicit
secrets:read permission, isolated per account."""
import json
import time

import pytest
import requests

from test_keys import api, server, wallet_user  # noqa: F401 (fixtures)
from conftest import at_once
from test_data_layer import started
from test_identity import post

# Every test here runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.usefixtures("backend")


def test_secrets_are_versioned_sealed_and_revealed_only_with_permission(server):
    value = "postgres-password-\u00e9-7f3a9c"
    r = api(server, "POST", "/v1/secrets", server.admin, {"name": "db.password", "value": value})
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 1 and "value" not in r.json()
    assert api(server, "POST", "/v1/secrets", server.admin, {"name": "db.password", "value": "x"}).status_code == 409
    listed = api(server, "GET", "/v1/secrets", server.admin).json()["secrets"]
    assert [s["name"] for s in listed] == ["db.password"] and value not in str(listed)
    assert api(server, "POST", "/v1/secrets/db.password/reveal", server.admin).json()["value"] == value
    # A new version replaces it.
    r = api(server, "PUT", "/v1/secrets/db.password", server.admin, {"value": "second"})
    assert r.status_code == 200 and r.json()["version"] == 2
    assert api(server, "POST", "/v1/secrets/db.password/reveal", server.admin).json()["value"] == "second"
    assert api(server, "GET", "/v1/secrets/db.password", server.admin).json()["version"] == 2
    # Sealed at rest: neither version is in the database.
    db = server.store.raw_bytes()
    assert value.encode() not in db and b"second" not in db
    # A key that may write and list but not read values.
    key = post(server, "/v1/api-keys", {"name": "w", "permissions": ["secrets:write", "secrets:read-metadata"]},
               headers=server.admin).json()["api_key"]
    writer = {"X-API-Key": key}
    assert api(server, "GET", "/v1/secrets", writer).status_code == 200
    assert api(server, "POST", "/v1/secrets/db.password/reveal", writer).status_code == 403
    assert api(server, "DELETE", "/v1/secrets/db.password", writer).status_code == 204
    assert api(server, "GET", "/v1/secrets/db.password", server.admin).status_code == 404


def test_secrets_are_isolated_per_account(server):
    assert api(server, "POST", "/v1/secrets", server.admin, {"name": "shared-name", "value": "admin's"}).status_code == 201
    user = wallet_user(server)
    assert api(server, "GET", "/v1/secrets", user).json()["secrets"] == []
    assert api(server, "GET", "/v1/secrets/shared-name", user).status_code == 404
    assert api(server, "PUT", "/v1/secrets/shared-name", user, {"value": "overwrite"}).status_code == 404
    assert api(server, "DELETE", "/v1/secrets/shared-name", user).status_code == 404
    # The same name in another account is another secret.
    assert api(server, "POST", "/v1/secrets", user, {"name": "shared-name", "value": "user's"}).status_code == 201
    assert api(server, "POST", "/v1/secrets/shared-name/reveal", server.admin).json()["value"] == "admin's"
    # A user may not read values back (secrets:read is not in its role).
    assert api(server, "POST", "/v1/secrets/shared-name/reveal", user).status_code == 403


@pytest.mark.parametrize("body,field", [({"value": "v"}, "name"), ({"name": "a b", "value": "v"}, "name"),
                                        ({"name": "a"}, "value"), ({"name": "a", "value": ""}, "value"),
                                        ({"name": "a", "value": "x" * 70000}, "value")])
def test_bad_secret_requests_are_400_naming_the_field(server, body, field):
    r = api(server, "POST", "/v1/secrets", server.admin, body)
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == field


def test_concurrent_writes_of_one_secret_each_get_their_own_version(server):
    """Sixteen creates of one name at once: one is created, the others are told it exists. Sixteen
    new versions at once: each is stored under its own version number, and the newest is the one
    revealed."""
    me = server.admin
    created = at_once(server.url, [("POST", "/v1/secrets", me, {"name": "race", "value": f"first-{i}"}) for i in range(16)])
    assert sorted(r.status_code for r in created) == [201] + [409] * 15, [r.text for r in created]
    winner = next(r for r in created if r.status_code == 201).json()
    assert winner["version"] == 1
    loser = next(r for r in created if r.status_code == 409).json()
    assert loser["errors"][0]["field"] == "name", loser
    updated = at_once(server.url, [("PUT", "/v1/secrets/race", me, {"value": f"next-{i}"}) for i in range(16)])
    assert all(r.status_code == 200 for r in updated), [r.text for r in updated]
    versions = sorted(r.json()["version"] for r in updated)
    assert versions == list(range(2, 18)), versions
    newest = next(i for i, r in enumerate(updated) if r.json()["version"] == 17)
    assert api(server, "GET", "/v1/secrets/race", me).json()["version"] == 17
    assert api(server, "POST", "/v1/secrets/race/reveal", me).json()["value"] == f"next-{newest}"
    rows = server.store.rows("SELECT version, status FROM secrets WHERE name = ? ORDER BY version", ("race",))
    # The newest ten are kept (Quotas:SecretVersionsKept).
    assert [(r["version"], r["status"]) for r in rows] == [(v, "retired") for v in range(8, 17)] + [(17, "active")]


def test_a_new_version_racing_a_delete_does_not_bring_the_secret_back(server):
    """A new version and a delete at once end, in either order, with no secret: a version written
    after the delete is refused (404) rather than stored alone."""
    me = server.admin
    outcomes = set()
    for i in range(40):
        assert api(server, "POST", "/v1/secrets", me, {"name": f"gone-{i}", "value": "v"}).status_code == 201
        put, delete = at_once(server.url, [("PUT", f"/v1/secrets/gone-{i}", me, {"value": "w"}),
                                           ("DELETE", f"/v1/secrets/gone-{i}", me, None)])
        assert put.status_code in (200, 404) and delete.status_code == 204, (put.text, delete.text)
        outcomes.add(put.status_code)
        assert api(server, "GET", f"/v1/secrets/gone-{i}", me).status_code == 404, (i, put.status_code)
    assert server.store.rows("SELECT name FROM secrets WHERE name LIKE ?", ("gone-%",)) == []


def test_an_account_holds_a_bounded_number_of_secrets_and_versions(nsl_factory):
    """Quotas:SecretsPerAccount names, each with its newest Quotas:SecretVersionsKept versions: a
    create beyond the quota is a 409 naming it, and a deleted secret frees its place."""
    p = started(nsl_factory, env={"Quotas__SecretsPerAccount": "3", "Quotas__SecretVersionsKept": "2",
                                  "RateLimiting__PermitLimit": "100000"})
    me = p.admin
    for i in range(3):
        assert api(p, "POST", "/v1/secrets", me, {"name": f"s{i}", "value": "v"}).status_code == 201
    over = api(p, "POST", "/v1/secrets", me, {"name": "s3", "value": "v"})
    assert over.status_code == 409 and "Quotas:SecretsPerAccount" in over.json()["detail"], over.text
    # Another account has a quota of its own.
    user = wallet_user(p)
    assert api(p, "POST", "/v1/secrets", user, {"name": "s0", "value": "v"}).status_code == 201
    for n in range(5):
        assert api(p, "PUT", "/v1/secrets/s0", me, {"value": f"v{n}"}).status_code == 200
    rows = p.store.rows("SELECT version FROM secrets WHERE name = ? AND account_id <> ? ORDER BY version",
                        ("s0", api(p, "GET", "/v1/auth/me", user).json()["account_id"]))
    assert [r["version"] for r in rows] == [5, 6]
    assert api(p, "POST", "/v1/secrets/s0/reveal", me).json()["value"] == "v4"
    assert api(p, "DELETE", "/v1/secrets/s1", me).status_code == 204
    assert api(p, "POST", "/v1/secrets", me, {"name": "s3", "value": "v"}).status_code == 201


def test_a_refused_secret_write_leaves_its_value_out_of_the_audit_trail(server):
    """A failed request's body goes to the audit trail; a secret's value must not."""
    value = "do-not-record-" + "7f3a9c"
    assert api(server, "POST", "/v1/secrets", server.admin, {"name": "bad name!", "value": value}).status_code == 400
    assert api(server, "POST", "/v1/secrets", server.admin, {"name": "kept", "value": "v"}).status_code == 201
    assert api(server, "PUT", "/v1/secrets/missing", server.admin, {"value": value}).status_code == 404
    deadline = time.time() + 10
    entries = []
    while time.time() < deadline:
        entries = api(server, "GET", "/v1/audit?service=secrets", server.admin).json()["entries"]
        if sum(e["status_code"] in (400, 404) for e in entries) >= 2:
            break
        time.sleep(0.1)
    refused = [e for e in entries if e["status_code"] in (400, 404)]
    assert len(refused) == 2, entries
    assert all(value not in json.dumps(e) for e in entries)
