"""The Storage service over the real server, on SQLite and PostgreSQL: the guide's §13.3 request
and load, the §7.2.2 validation table, encryption at rest, tenant isolation, sharing, expiry,
quotas, access counts, export, erasure and the §17.2 report."""
import decimal
import json
import re
import subprocess
import time
from pathlib import Path

import pytest
import requests

from conftest import BINARY, at_once
from test_data_layer import started
from test_identity import sign, tokens_for

pytestmark = pytest.mark.usefixtures("backend")

LOAD_SCRIPT = Path(__file__).with_name("storage_load.lua")


def account(p, name, role="user"):
    out = subprocess.run([BINARY, "admin", "create", "--name", name, "--role", role], cwd=p.workdir, env=p.env,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    key = next(l.split()[2] for l in out.stdout.splitlines() if l.startswith("api key"))
    return {"X-API-Key": key}


def call(p, method, path, who, body=None, **kw):
    return requests.request(method, p.url + path, json=body, headers=who, timeout=30, **kw)


@pytest.fixture
def server(nsl_factory):
    return started(nsl_factory, env={"RateLimiting__PermitLimit": "1000000", "Storage__MaxKeysPerOwner": "50"})


def test_the_guides_request_works_as_written_with_a_bearer_token(server):
    token = tokens_for(server, server.admin["X-API-Key"])["access_token"]
    bearer = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    payload = json.dumps({"key": "test_1_0", "value": {"data": "test data"}, "encrypted": False})
    r = requests.post(server.url + "/v1/storage/store/neo-n3", data=payload, headers=bearer, timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["key"] == "test_1_0" and r.json()["created"] is True
    got = call(server, "GET", "/v1/storage/neo-n3/test_1_0", bearer)
    assert got.status_code == 200 and got.json()["value"] == {"data": "test data"} and got.json()["encrypted"] is False
    # Store replaces.
    r = call(server, "POST", "/v1/storage/store/neo-n3", bearer, {"key": "test_1_0", "value": [1, 2, 3]})
    assert r.status_code == 200 and r.json()["created"] is False
    assert call(server, "GET", "/v1/storage/neo-n3/test_1_0", bearer).json()["value"] == [1, 2, 3]


@pytest.mark.parametrize("body,field", [
    ({"value": 1}, "key"),
    ({"key": "", "value": 1}, "key"),
    ({"key": "k" * 257, "value": 1}, "key"),
    ({"key": "has space", "value": 1}, "key"),
    ({"key": "a/b", "value": 1}, "key"),
    ({"key": "dots.not.allowed", "value": 1}, "key"),
    ({"key": 7, "value": 1}, "key"),
    ({"key": "k"}, "value"),
    ({"key": "k", "value": None}, "value"),
    ({"key": "k", "value": "x" * 1048577}, "value"),
    ({"key": "k", "value": 1, "encrypted": "yes"}, "encrypted"),
    ({"key": "k", "value": 1, "access_level": "friends"}, "access_level"),
    ({"key": "k", "value": 1, "ttl_seconds": 0}, "ttl_seconds"),
    ({"key": "k", "value": 1, "ttl_seconds": 60.5}, "ttl_seconds"),
    ({"key": "k", "value": 1, "access_level": "shared", "principals": ["é" * 129]}, "principals"),
    ({"key": "k", "value": 1, "metadata": [1]}, "metadata"),
])
def test_validation_names_the_field(server, body, field):
    r = call(server, "POST", "/v1/storage/store/neo-n3", server.admin, body)
    assert r.status_code == 400, r.text
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == field
    assert call(server, "GET", "/v1/storage/neo-n3", server.admin).json()["items"] == []


def test_edges_of_the_validation_are_accepted(server):
    for key in ["k" * 256, "a:b_c-D9", "x"]:
        assert call(server, "POST", "/v1/storage/store/neo-x", server.admin, {"key": key, "value": 0}).status_code == 200
    big = "y" * (1048576 - 2)  # with its quotes exactly 1 MB of JSON
    r = call(server, "POST", "/v1/storage/store/neo-x", server.admin, {"key": "big", "value": big})
    assert r.status_code == 200 and r.json()["size_bytes"] == 1048576
    assert call(server, "GET", "/v1/storage/neo-x/big", server.admin).json()["value"] == big
    assert call(server, "POST", "/v1/storage/store/solana", server.admin, {"key": "k", "value": 1}).json()["errors"][0]["field"] == "chain"
    # As JSON Schema reads them (schemathesis found both refused): 60.0 is a whole number of
    # seconds, and a principal's 128 characters may be 256 bytes of UTF-8.
    r = call(server, "POST", "/v1/storage/store/neo-x", server.admin,
             {"key": "t", "value": 1, "ttl_seconds": 60.0, "access_level": "shared", "principals": ["é" * 128]})
    assert r.status_code == 200, r.text
    assert call(server, "GET", "/v1/storage/neo-x/t/metadata", server.admin).json()["expires_at"] is not None


def test_encrypted_values_are_stored_only_as_ciphertext(server):
    clear = "the launch code is 0000-" + "7" * 12
    r = call(server, "POST", "/v1/storage/store/neo-n3", server.admin,
             {"key": "vault", "value": {"code": clear}, "encrypted": True})
    assert r.status_code == 200 and r.json()["encrypted"] is True
    got = call(server, "GET", "/v1/storage/neo-n3/vault", server.admin).json()
    assert got["value"] == {"code": clear} and got["encrypted"] is True
    assert clear.encode() not in server.store.raw_bytes()
    row = server.store.rows("SELECT value, encrypted FROM storage_data WHERE key = ?", ("vault",))[0]
    assert clear not in str(row["value"]) and row["encrypted"] in (1, True)
    # The largest value and one outside ASCII cross the enclave boundary and come back unchanged.
    for key, value in (("vault-big", "z" * (1048576 - 2)), ("vault-text", {"note": "Grüße, 世界 ✓", "n": [1, 2.5, None]})):
        r = call(server, "POST", "/v1/storage/store/neo-n3", server.admin, {"key": key, "value": value, "encrypted": True})
        assert r.status_code == 200, r.text
        got = call(server, "GET", f"/v1/storage/neo-n3/{key}", server.admin).json()
        assert got["value"] == value and got["encrypted"] is True
    # A failed store of an encrypted value does not put it into the audit trail either.
    bad = call(server, "POST", "/v1/storage/store/neo-n3", server.admin,
                {"key": "no good", "value": {"code": clear}, "encrypted": True})
    assert bad.status_code == 400
    time.sleep(0.5)
    assert clear.encode() not in server.store.raw_bytes()
    # Each owner has its own data key: the ciphertext does not open as another owner's record.
    assert server.store.rows("SELECT count(*) AS n FROM storage_keys")[0]["n"] == 1


def test_tenants_are_isolated_on_every_route(server):
    alice, bob = account(server, "alice"), account(server, "bob")
    assert call(server, "POST", "/v1/storage/store/neo-n3", alice, {"key": "diary", "value": "alice's"}).status_code == 200
    owner = call(server, "GET", "/v1/storage/neo-n3/diary", alice).json()["owner"]
    assert call(server, "GET", "/v1/storage/neo-n3/diary", bob).status_code == 404  # bob's own space
    assert call(server, "GET", f"/v1/storage/neo-n3/diary?owner={owner}", bob).status_code == 404
    assert call(server, "GET", f"/v1/storage/neo-n3/diary/metadata?owner={owner}", bob).status_code == 404
    assert call(server, "DELETE", "/v1/storage/neo-n3/diary", bob).status_code == 404
    assert call(server, "POST", "/v1/storage/neo-n3/diary/share", bob, {"access_level": "public"}).status_code == 404
    assert call(server, "GET", "/v1/storage/neo-n3", bob).json()["items"] == []
    assert call(server, "GET", f"/v1/storage/admin/users/{owner}/export", bob).status_code == 403
    assert call(server, "DELETE", f"/v1/storage/admin/users/{owner}", bob).status_code == 403
    # The same key in bob's space is bob's own entry.
    assert call(server, "POST", "/v1/storage/store/neo-n3", bob, {"key": "diary", "value": "bob's"}).status_code == 200
    assert call(server, "GET", "/v1/storage/neo-n3/diary", alice).json()["value"] == "alice's"
    assert call(server, "GET", "/v1/storage/neo-n3/diary", bob).json()["value"] == "bob's"
    # Neo N3 and Neo X are separate address spaces.
    assert call(server, "GET", "/v1/storage/neo-x/diary", alice).status_code == 404


def test_a_wallet_account_stores_under_its_address_and_only_on_its_chain(server):
    wallet = sign("neo-x", "warm-up")  # a fresh key and its address, made by ethers
    key = wallet.get("wif") or wallet.get("private_key")
    challenge = call(server, "POST", "/v1/auth/wallet/challenge", {}, {"chain": "neo-x", "address": wallet["address"]}).json()
    signed = sign("neo-x", challenge["message"], key)
    r = call(server, "POST", "/v1/auth/wallet/sign-in", {}, {"nonce": challenge["nonce"], "signature": signed["signature"]})
    assert r.status_code == 200, r.text
    bearer = {"Authorization": "Bearer " + r.json()["access_token"]}
    stored = call(server, "POST", "/v1/storage/store/neo-x", bearer, {"key": "prefs", "value": {"theme": "dark"}})
    assert stored.status_code == 200 and stored.json()["owner"] == wallet["address"]
    assert call(server, "POST", "/v1/storage/store/neo-n3", bearer, {"key": "prefs", "value": 1}).status_code == 403


def test_sharing_with_named_principals_and_publicly(server):
    alice, bob, carol = account(server, "alice"), account(server, "bob"), account(server, "carol")
    call(server, "POST", "/v1/storage/store/neo-n3", alice, {"key": "notes", "value": {"n": 1}, "encrypted": True})
    owner = call(server, "GET", "/v1/storage/neo-n3/notes", alice).json()["owner"]
    path = f"/v1/storage/neo-n3/notes?owner={owner}"
    assert call(server, "POST", "/v1/storage/neo-n3/notes/share", alice,
                {"access_level": "shared", "principals": ["bob"]}).status_code == 200
    got = call(server, "GET", path, bob)
    assert got.status_code == 200 and got.json()["value"] == {"n": 1} and "shared_with" not in got.json()
    assert call(server, "GET", path, carol).status_code == 404
    assert call(server, "POST", "/v1/storage/neo-n3/notes/share", alice, {"access_level": "public"}).status_code == 200
    assert call(server, "GET", path, carol).status_code == 200
    # Replacing the value keeps the sharing; making it private again ends it at once.
    call(server, "POST", "/v1/storage/store/neo-n3", alice, {"key": "notes", "value": {"n": 2}})
    assert call(server, "GET", path, carol).json()["value"] == {"n": 2}
    call(server, "POST", "/v1/storage/neo-n3/notes/share", alice, {"access_level": "private"})
    assert call(server, "GET", path, carol).status_code == 404
    assert call(server, "GET", path, bob).status_code == 404
    bad = call(server, "POST", "/v1/storage/neo-n3/notes/share", alice, {"access_level": "shared"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "principals"


def test_expiry_is_honoured_on_read_and_purged_by_retention(server):
    call(server, "POST", "/v1/storage/store/neo-n3", server.admin, {"key": "brief", "value": 1, "ttl_seconds": 1})
    call(server, "POST", "/v1/storage/store/neo-n3", server.admin, {"key": "lasting", "value": 2})
    assert call(server, "GET", "/v1/storage/neo-n3/brief", server.admin).status_code == 200
    time.sleep(1.3)
    assert call(server, "GET", "/v1/storage/neo-n3/brief", server.admin).status_code == 404
    keys = [i["key"] for i in call(server, "GET", "/v1/storage/neo-n3", server.admin).json()["items"]]
    assert keys == ["lasting"]
    server.args = ["retention", "run"]
    code, out, err = server.run_to_end()
    assert code == 0, err
    assert re.search(r"expired storage entries removed\s+1", out), out


def test_listing_is_newest_first_with_prefix_and_cursor(server):
    for i in range(7):
        call(server, "POST", "/v1/storage/store/neo-n3", server.admin, {"key": f"item:{i}", "value": i})
        time.sleep(0.005)
    call(server, "POST", "/v1/storage/store/neo-n3", server.admin, {"key": "other", "value": 0})
    seen, cursor = [], None
    while True:
        q = "?prefix=item:&limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = call(server, "GET", "/v1/storage/neo-n3" + q, server.admin).json()
        seen += [i["key"] for i in page["items"]]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert seen == [f"item:{i}" for i in reversed(range(7))]
    assert call(server, "GET", "/v1/storage/neo-n3?cursor=zz", server.admin).json()["errors"][0]["field"] == "cursor"


def test_quotas_and_access_counts(server):
    for i in range(50):
        assert call(server, "POST", "/v1/storage/store/neo-n3", server.admin, {"key": f"q{i}", "value": i}).status_code == 200
    over = call(server, "POST", "/v1/storage/store/neo-n3", server.admin, {"key": "q50", "value": 1})
    assert over.status_code == 409 and "quota" in over.json()["detail"]
    assert call(server, "POST", "/v1/storage/store/neo-n3", server.admin, {"key": "q0", "value": 9}).status_code == 200
    for _ in range(3):
        call(server, "GET", "/v1/storage/neo-n3/q1", server.admin)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        meta = call(server, "GET", "/v1/storage/neo-n3/q1/metadata", server.admin).json()
        if meta.get("accessed_count") == 3:
            break
        time.sleep(0.2)
    assert meta["accessed_count"] == 3 and meta["last_accessed"] and "value" not in meta


def test_export_erase_and_the_compliance_report(server):
    alice = account(server, "alice")
    auditor = account(server, "eve", "auditor")
    call(server, "POST", "/v1/storage/store/neo-n3", alice, {"key": "a", "value": {"x": 1}, "encrypted": True})
    call(server, "POST", "/v1/storage/store/neo-n3", alice, {"key": "b", "value": "plain"})
    owner = call(server, "GET", "/v1/storage/neo-n3/a", alice).json()["owner"]
    exported = call(server, "GET", f"/v1/storage/admin/users/{owner}/export", auditor)
    assert exported.status_code == 200
    assert {i["key"]: i["value"] for i in exported.json()["items"]} == {"a": {"x": 1}, "b": "plain"}
    report = call(server, "GET", f"/v1/storage/admin/compliance-report?owner={owner}", auditor)
    assert report.status_code == 200, report.text
    report = report.json()
    storage = next(r for r in report["rows"] if r["data_type"] == "Storage Data")
    assert storage["record_count"] == 2 and storage["encrypted_count"] == 1 and storage["old_records"] == 0
    assert call(server, "DELETE", f"/v1/storage/admin/users/{owner}", auditor).status_code == 403
    erased = call(server, "DELETE", f"/v1/storage/admin/users/{owner}", server.admin)
    assert erased.status_code == 200 and erased.json()["entries_erased"] == 2
    assert call(server, "GET", "/v1/storage/neo-n3/b", alice).status_code == 404
    assert server.store.rows("SELECT count(*) AS n FROM storage_data WHERE user_address = ?", (owner,))[0]["n"] == 0
    assert server.store.rows("SELECT count(*) AS n FROM storage_keys WHERE owner = ?", (owner,))[0]["n"] == 0
    time.sleep(0.5)
    trail = server.store.rows("SELECT method_name FROM audit_logs WHERE method_name LIKE ?", ("DELETE /v1/storage/admin/%",))
    assert len(trail) == 2  # the refused and the done erasure are both on record
    # Only owners of the forms the service writes: schemathesis found "é" * 21 refused as "1 to 42
    # characters" (42 bytes); now the message names what an owner is.
    for bad in ["é" * 21, "a b", "a/b"]:
        r = call(server, "GET", f"/v1/storage/admin/users/{bad}/export", auditor)
        assert r.status_code in (400, 404) and (r.status_code == 404 or r.json()["errors"][0]["field"] == "owner"), r.text
    r = call(server, "GET", "/v1/storage/admin/users/" + "é" * 21 + "/export", auditor)
    assert r.status_code == 400 and "address" in r.json()["errors"][0]["message"], r.text


def test_the_guides_load_scenario_with_wrk(nsl_factory):
    """Guide §13.3: many clients storing test_<vu>_<iter> keys with a bearer token; every request
    succeeds and every key reads back."""
    server = started(nsl_factory, env={"RateLimiting__PermitLimit": "1000000", "Storage__MaxKeysPerOwner": "10000000"})
    token = tokens_for(server, server.admin["X-API-Key"])["access_token"]
    out = subprocess.run(["wrk", "-t2", "-c32", "-d3s", "--latency", "-s", str(LOAD_SCRIPT),
                          server.url + "/v1/storage/store/neo-n3", "--", token],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    stats = json.loads(next(l for l in out.stdout.splitlines() if l.startswith("{")))
    assert stats["requests"] > 100 and stats["non2xx"] == 0 and stats["socket_errors"] == 0, out.stdout
    listed, cursor = [], None
    while True:
        page = call(server, "GET", "/v1/storage/neo-n3?limit=1000" + (f"&cursor={cursor}" if cursor else ""),
                    server.admin).json()
        listed += [i["key"] for i in page["items"]]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert len(listed) >= stats["requests"], (len(listed), stats)
    for key in listed[:: max(1, len(listed) // 100)]:
        got = call(server, "GET", "/v1/storage/neo-n3/" + key, server.admin)
        assert got.status_code == 200 and got.json()["value"] == {"data": "test data"}


def test_replacing_a_key_again_and_again_uses_no_quota(server):
    # The store learns from the write itself whether it replaced an entry (PostgreSQL) or looks
    # first (SQLite, or near the quota); either way 60 writes of one key are one key of 50.
    for i in range(60):
        r = call(server, "POST", "/v1/storage/store/neo-n3", server.admin, {"key": "again", "value": "x" * i})
        assert r.status_code == 200 and r.json()["created"] is (i == 0), r.text
    for i in range(49):
        assert call(server, "POST", "/v1/storage/store/neo-n3", server.admin, {"key": f"n{i}", "value": i}).status_code == 200
    over = call(server, "POST", "/v1/storage/store/neo-n3", server.admin, {"key": "n49", "value": 1})
    assert over.status_code == 409 and "quota" in over.json()["detail"]


def test_one_entry_lookups_read_one_index_entry_not_the_owners_whole_listing(server):
    if server.store.backend != "postgres":
        pytest.skip("a PostgreSQL planning question")
    r = call(server, "POST", "/v1/storage/store/neo-n3", server.admin, {"key": "seed", "value": 1})
    owner = r.json()["owner"]
    # 3000 entries the planner has no statistics about (a fresh table, as on a new deployment).
    server.store.execute(
        "INSERT INTO storage_data (user_address, key, value, size_bytes) "
        f"SELECT '{owner}', 'bulk' || i, '1', 1 FROM generate_series(1, 3000) i")

    def reads(index):
        rows = server.store.rows("SELECT idx_tup_read FROM pg_stat_user_indexes WHERE schemaname = current_schema() "
                                 "AND indexrelname = ?", (index,))
        return rows[0]["idx_tup_read"]

    unique_before, listing_before = reads("storage_data_user_address_key_key"), reads("idx_storage_composite")
    # Reads that miss the cache, and replacements: each finds its one entry. Planned generically
    # on such a table, `... AND deleted_at IS NULL` went through the partial listing index and
    # read all 3000 of the owner's entries every time.
    for i in range(1, 41):
        assert call(server, "GET", f"/v1/storage/neo-n3/bulk{i}", server.admin).status_code == 200
        assert call(server, "POST", "/v1/storage/store/neo-n3", server.admin, {"key": f"bulk{i}", "value": 2}).status_code == 200
    deadline = time.monotonic() + 10
    while reads("storage_data_user_address_key_key") - unique_before < 80 and time.monotonic() < deadline:
        time.sleep(0.3)  # the server's sessions report their statistics about once a second
    assert reads("storage_data_user_address_key_key") - unique_before >= 80
    assert reads("idx_storage_composite") - listing_before < 3000


@pytest.mark.parametrize("encrypted", [False, True])
def test_every_kind_of_json_value_reads_back_equal(server, encrypted):
    values = ["plain", "quote \" backslash \\ newline \n tab \t", "ünïcödé ✓ 🚀", 0, -17, 3.25, 2.5e15, True, False,
              [], {}, [1, [2, [3, {"deep": [None, "x"]}]]], {"a": {"b": {"c": [True, 1.5, "é"]}}, "z": None}]
    for i, v in enumerate(values):
        r = call(server, "POST", "/v1/storage/store/neo-x", server.admin, {"key": f"kind{i}", "value": v, "encrypted": encrypted})
        assert r.status_code == 200, r.text
        got = call(server, "GET", f"/v1/storage/neo-x/kind{i}", server.admin)
        assert got.status_code == 200 and got.json()["value"] == v and got.json()["key"] == f"kind{i}", got.text


@pytest.mark.parametrize("encrypted", [False, True])
def test_numbers_beyond_64_bits_read_back_exactly(server, encrypted):
    # Token amounts in wei and other big integers: what is sent is what is read and exported.
    raw = ('{"wei": 1000000000000000000000001, "neg": -98765432109876543210987654321, '
           '"fraction": 12345678901234567890123.5, "u64_plus_1": 18446744073709551616}')
    meta = '{"supply": 340282366920938463463374607431768211457}'
    body = ('{"key": "amounts", "value": ' + raw + ', "encrypted": ' + ("true" if encrypted else "false") +
            ', "metadata": ' + meta + "}")
    r = requests.post(server.url + "/v1/storage/store/neo-n3", data=body,
                      headers={**server.admin, "Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 200, r.text
    exact = lambda text: json.loads(text, parse_float=decimal.Decimal)
    got = call(server, "GET", "/v1/storage/neo-n3/amounts", server.admin)
    assert exact(got.text)["value"] == exact(raw) and exact(got.text)["metadata"] == exact(meta)
    described = call(server, "GET", "/v1/storage/neo-n3/amounts/metadata", server.admin)
    assert exact(described.text)["metadata"] == exact(meta) and "value" not in described.json()
    assert described.json()["size_bytes"] == len(raw) and described.json()["encrypted"] is encrypted
    owner = got.json()["owner"]
    exported = call(server, "GET", f"/v1/storage/admin/users/{owner}/export", server.admin)
    assert exported.status_code == 200, exported.text
    [item] = exact(exported.text)["items"]
    assert item["value"] == exact(raw) and item["metadata"] == exact(meta)


def test_the_bytes_quota_refuses_only_against_exact_figures(nsl_factory):
    # On PostgreSQL a replacement counts its full size until the figures are recounted; a write is
    # refused only after an exact recount and the replaced entry's real size.
    p = started(nsl_factory, env={"RateLimiting__PermitLimit": "1000000", "Storage__MaxMegabytesPerOwner": "1"})
    for i in range(6):  # 300 kB replaced again and again, in a 1 MiB quota
        r = call(p, "POST", "/v1/storage/store/neo-n3", p.admin, {"key": "r", "value": "x" * 300_000 + str(i)})
        assert r.status_code == 200 and r.json()["created"] is (i == 0), r.text
    assert call(p, "POST", "/v1/storage/store/neo-n3", p.admin, {"key": "b", "value": "y" * 600_000}).status_code == 200
    over = call(p, "POST", "/v1/storage/store/neo-n3", p.admin, {"key": "c", "value": "z" * 200_000})
    assert over.status_code == 409 and "bytes" in over.json()["detail"]
    assert call(p, "POST", "/v1/storage/store/neo-n3", p.admin, {"key": "c", "value": "z" * 100_000}).status_code == 200
    # A deleted entry no longer counts, and stored again it is a new entry, listed as the newest.
    assert call(p, "DELETE", "/v1/storage/neo-n3/b", p.admin).status_code in (200, 204)
    again = call(p, "POST", "/v1/storage/store/neo-n3", p.admin, {"key": "b", "value": 1})
    assert again.status_code == 200 and again.json()["created"] is True, again.text
    listed = [i["key"] for i in call(p, "GET", "/v1/storage/neo-n3", p.admin).json()["items"]]
    assert listed == ["b", "c", "r"]


def test_concurrent_stores_of_one_key_learn_once_that_they_created_it(server):
    """Concurrent stores share multi-row INSERTs on PostgreSQL: each still learns from its own row
    whether it created the entry (never from a lookup made before a concurrent store landed), two
    stores of one key never share a statement, and a store that does not name an access level
    keeps the one the entry has. Every store of a wave is connected before any is sent, so they
    arrive together."""
    me = server.admin
    call(server, "POST", "/v1/storage/store/neo-n3", me, {"key": "gone", "value": 0})
    assert call(server, "DELETE", "/v1/storage/neo-n3/gone", me).status_code in (200, 204)
    call(server, "POST", "/v1/storage/store/neo-n3", me, {"key": "open", "value": 0, "access_level": "public"})
    keys = [f"c{i}" for i in range(6)] + ["gone", "open"]
    jobs = [(k, n) for n in range(8) for k in keys]

    def store(job):
        k, n = job
        body = {"key": k, "value": {"n": n}, "encrypted": n % 2 == 1}
        if k != "open" and n == 3:
            body["access_level"] = "public"
        return "POST", "/v1/storage/store/neo-n3", me, body

    for attempt in range(3):  # three waves, so that some stores meet others in one transaction
        answers = at_once(server.url, [store(job) for job in jobs])
        assert len(answers) == len(jobs)
        done = [(k, n, r) for (k, n), r in zip(jobs, answers)]
        assert all(r.status_code == 200 for _, _, r in done), [r.text for _, _, r in done if r.status_code != 200]
        created = {k: sum(r.json()["created"] for kk, _, r in done if kk == k) for k in keys}
        assert created == {k: 1 if attempt == 0 and k != "open" else 0 for k in keys}, created
        for k in keys:
            got = call(server, "GET", "/v1/storage/neo-n3/" + k, me)
            assert got.status_code == 200 and got.json()["value"]["n"] in range(8), got.text
        meta = call(server, "GET", "/v1/storage/neo-n3/open/metadata", me).json()
        assert meta["access_level"] == "public", meta
    listed = call(server, "GET", "/v1/storage/neo-n3?limit=100", me).json()["items"]
    assert sorted(i["key"] for i in listed) == sorted(keys)
