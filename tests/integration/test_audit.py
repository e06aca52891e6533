"""The audit trail over the real server: one record per request with the guide's fields,
credentials redacted, bodies of failed requests, queries by auditors only, export as JSON lines,
and nothing lost on a graceful shutdown."""
import json
import subprocess
import time

import pytest
import requests

from conftest import BINARY
from test_identity import admin_key, post, sign

# Every test here runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.usefixtures("backend")


def audited_server(nsl_factory, **kw):
    p = nsl_factory(**kw)
    p.args = ["migrate"]
    assert p.run_to_end()[0] == 0
    key = admin_key(p)
    p.args = ["serve", "--urls", "http://127.0.0.1:0"]
    p.start()
    p.admin_key = key
    return p


def rows(p, where="1 = 1", params=()):
    return p.store.rows(f"SELECT * FROM audit_logs WHERE {where} ORDER BY id", params)


def wait_rows(p, where, params=(), count=1, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = rows(p, where, params)
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no audit record for {where} {params}")


def test_each_request_is_recorded_with_credentials_redacted(nsl_factory):
    p = audited_server(nsl_factory)
    r = requests.get(p.url + "/v1/auth/me", headers={"X-API-Key": p.admin_key, "User-Agent": "audit-test",
                                                     "X-Request-Id": "req-ok-1"}, timeout=10)
    assert r.status_code == 200
    [ok] = wait_rows(p, "request_id = ?", ("req-ok-1",))
    assert ok["event_type"] == "api_request" and ok["service_name"] == "auth" and ok["method_name"] == "GET /v1/auth/me"
    assert ok["status_code"] == 200 and ok["user_agent"] == "audit-test" and ok["ip_address"] == "127.0.0.1"
    assert ok["user_address"] and ok["execution_time_ms"] >= 0 and ok["response_data"] is None
    request = json.loads(ok["request_data"])
    assert request["headers"]["X-API-Key"] == "[REDACTED]"
    assert p.admin_key not in ok["request_data"]
    assert "body" not in request  # bodies only for failed requests

    # A failed request: its body is not recorded unless its route declares that its bodies carry
    # no secret material; credential headers are redacted.
    r = post(p, "/v1/auth/token", {"api_key": "nsl_" + "1" * 16 + "_" + "2" * 64, "note": "not kept"},
             headers={"X-Request-Id": "req-fail-1", "Authorization": "Bearer nope", "Cookie": "session=s3cr3t"})
    assert r.status_code == 401
    [failed] = wait_rows(p, "request_id = ?", ("req-fail-1",))
    assert failed["status_code"] == 401 and "not valid" in failed["error_message"]
    assert json.loads(failed["request_data"])["body"] == "[NOT RECORDED]"
    headers = json.loads(failed["request_data"])["headers"]
    assert headers["Authorization"] == headers["Cookie"] == "[REDACTED]"
    assert json.loads(failed["response_data"])["body"]["status"] == 401
    # A route whose body is audited (an account's name and role): kept, credential-like members
    # redacted all the same.
    r = post(p, "/v1/admin/accounts", {"name": "audited", "role": "emperor", "note": "kept", "password": "hunter2",
                                       "nested": {"privateKey": "abc", "refresh_token": "x"}},
             headers={"X-Request-Id": "req-fail-2", "X-API-Key": p.admin_key})
    assert r.status_code == 400
    [failed] = wait_rows(p, "request_id = ?", ("req-fail-2",))
    body = json.loads(failed["request_data"])["body"]
    assert body["note"] == "kept" and body["role"] == "emperor"
    assert body["password"] == body["nested"]["privateKey"] == body["nested"]["refresh_token"] == "[REDACTED]"
    for secret in ("hunter2", "s3cr3t", "2" * 64, "not kept"):
        assert all(secret not in json.dumps(r) for r in rows(p))
    # Header values that are not UTF-8, cut in the middle of a character at 1,024 bytes, or
    # repeated: the record is still written, as valid JSON.
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", int(p.url.rsplit(":", 1)[1]), timeout=10)
    conn.putrequest("GET", "/v1/auth/me?x=%C3%A9")
    conn.putheader("X-API-Key", p.admin_key)
    conn.putheader("X-Request-Id", "req-odd-headers")
    conn.putheader("X-Latin", b"caf\xe9")
    conn.putheader("X-Long", ("a" + "\u00e9" * 600).encode())
    conn.putheader("X-Twice", "first")
    conn.putheader("X-Twice", "second")
    conn.endheaders()
    assert conn.getresponse().status == 200
    [odd] = wait_rows(p, "request_id = ?", ("req-odd-headers",))
    odd_headers = json.loads(odd["request_data"])["headers"]
    assert odd_headers["X-Latin"] == "caf\ufffd" and odd_headers["X-API-Key"] == "[REDACTED]"
    assert odd_headers["X-Long"].startswith("a\u00e9") and len(odd_headers["X-Long"].encode()) <= 1024 + 2
    assert odd_headers["X-Twice"] == "second"
    assert json.loads(odd["request_data"])["query"] == "x=%C3%A9"
    # The User-Agent column as well: not UTF-8, cut mid-character at 512 bytes, or holding a
    # tab, a backslash and a newline-like escape (text that bulk loading must carry unchanged).
    for rid, agent in (("req-agent-latin", b"caf\xe9 \xff"), ("req-agent-long", ("b" + "\u00e9" * 300).encode()),
                       ("req-agent-escapes", b"tab\there back\\slash \\N \\n end")):
        conn = http.client.HTTPConnection("127.0.0.1", int(p.url.rsplit(":", 1)[1]), timeout=10)
        conn.putrequest("GET", "/v1/auth/me", skip_accept_encoding=True)
        conn.putheader("X-API-Key", p.admin_key)
        conn.putheader("X-Request-Id", rid)
        conn.putheader("User-Agent", agent)
        conn.endheaders()
        assert conn.getresponse().status == 200
    [latin] = wait_rows(p, "request_id = ?", ("req-agent-latin",))
    assert latin["user_agent"] == "caf\ufffd \ufffd"
    [long_agent] = wait_rows(p, "request_id = ?", ("req-agent-long",))
    assert long_agent["user_agent"] == "b" + "\u00e9" * 255
    [escapes] = wait_rows(p, "request_id = ?", ("req-agent-escapes",))
    assert escapes["user_agent"] == "tab\there back\\slash \\N \\n end"
    r = requests.get(p.url + "/v1/audit", params={"principal": odd["user_address"], "limit": "1000"},
                     headers={"X-API-Key": p.admin_key}, timeout=10)
    assert r.status_code == 200, r.text
    agents = {e["request_id"]: e["user_agent"] for e in r.json()["entries"]}
    assert agents["req-agent-latin"] == "caf\ufffd \ufffd" and agents["req-agent-escapes"] == escapes["user_agent"]
    # Health and metrics are not audited.
    p.get("/health")
    p.get("/metrics")
    time.sleep(0.4)
    assert not [r for r in rows(p) if r["service_name"] in ("health", "metrics")]


def test_auditors_query_the_trail_and_users_cannot(nsl_factory):
    p = audited_server(nsl_factory)
    admin = {"X-API-Key": p.admin_key}
    for i in range(5):
        requests.get(p.url + "/v1/auth/me", headers=dict(admin, **{"X-Request-Id": f"q-{i}"}), timeout=10)
    wait_rows(p, "request_id LIKE 'q-%'", count=5)
    r = requests.get(p.url + "/v1/audit", params={"service": "auth", "status": "200", "limit": "3"}, headers=admin, timeout=10)
    assert r.status_code == 200, r.text
    page = r.json()
    assert len(page["entries"]) == 3 and "next_before" in page
    ids = [e["id"] for e in page["entries"]]
    assert ids == sorted(ids, reverse=True)
    more = requests.get(p.url + "/v1/audit", params={"before": page["next_before"], "limit": "1000"}, headers=admin, timeout=10).json()
    assert all(e["id"] < ids[-1] for e in more["entries"])
    # One request's record, by the id its answer carried.
    one = requests.get(p.url + "/v1/audit", params={"request_id": "q-3"}, headers=admin, timeout=10).json()["entries"]
    assert [e["request_id"] for e in one] == ["q-3"] and one[0]["method_name"] == "GET /v1/auth/me"
    assert requests.get(p.url + "/v1/audit", params={"request_id": "q-none"}, headers=admin, timeout=10).json()["entries"] == []
    bad = requests.get(p.url + "/v1/audit", params={"request_id": "x" * 101}, headers=admin, timeout=10)
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "request_id"
    bad = requests.get(p.url + "/v1/audit", params={"limit": "0"}, headers=admin, timeout=10)
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "limit"
    # An auditor key works; a wallet user gets 403.
    key = post(p, "/v1/api-keys", {"name": "auditor", "permissions": ["audit:read"]}, headers=admin).json()["api_key"]
    assert requests.get(p.url + "/v1/audit", headers={"X-API-Key": key}, timeout=10).status_code == 200
    w = sign("neo-x", "warm-up")
    ch = post(p, "/v1/auth/wallet/challenge", {"chain": "neo-x", "address": w["address"]}).json()
    s = sign("neo-x", ch["message"], w["private_key"])
    token = post(p, "/v1/auth/wallet/sign-in", {"nonce": ch["nonce"], "signature": s["signature"]}).json()["access_token"]
    r = requests.get(p.url + "/v1/audit", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 403
    # The wallet user's own requests are recorded under its address.
    wait_rows(p, "user_address = ?", (w["address"],))


def test_a_graceful_shutdown_loses_no_record_and_export_writes_json_lines(nsl_factory):
    p = audited_server(nsl_factory, env={"RateLimiting__PermitLimit": "100000"})
    admin = {"X-API-Key": p.admin_key}
    session = requests.Session()
    for i in range(300):
        session.get(p.url + "/v1/auth/me", headers=dict(admin, **{"X-Request-Id": f"burst-{i}"}), timeout=10)
    assert p.stop() == 0  # SIGTERM right after the burst
    assert len(rows(p, "request_id LIKE 'burst-%'")) == 300
    p.args = ["audit", "export"]
    code, out, err = p.run_to_end()
    assert code == 0, err
    lines = [json.loads(l) for l in out.splitlines()]
    assert len([l for l in lines if l["request_id"].startswith("burst-")]) == 300
    assert "records in" in err
    ids = [l["id"] for l in lines]
    assert ids == sorted(ids)
    p.args = ["audit", "export", "--principal", "nobody"]
    code, out, _ = p.run_to_end()
    assert code == 0 and out == ""


def test_a_record_the_database_refuses_does_not_hold_back_the_others(nsl_factory):
    p = audited_server(nsl_factory)
    # The database refuses any record whose user agent says "poison" (a trigger or a CHECK).
    if p.store.backend == "sqlite":
        p.store.execute("CREATE TRIGGER refuse_poison BEFORE INSERT ON audit_logs WHEN NEW.user_agent = 'poison' "
                        "BEGIN SELECT RAISE(ABORT, 'refused'); END")
    else:
        p.store.execute("ALTER TABLE audit_logs ADD CONSTRAINT refuse_poison CHECK (user_agent <> 'poison')")
    session = requests.Session()
    for i in range(40):
        agent = "poison" if i == 17 else "fine"
        r = session.get(p.url + "/v1/auth/me", headers={"X-API-Key": p.admin_key, "X-Request-Id": f"mixed-{i}",
                                                        "User-Agent": agent}, timeout=10)
        assert r.status_code == 200
    found = wait_rows(p, "request_id LIKE 'mixed-%'", count=40)
    assert len(found) == 40
    [poisoned] = [r for r in found if r["request_id"] == "mixed-17"]
    assert poisoned["user_agent"] is None and poisoned["request_data"] is None
    assert "refused" in poisoned["error_message"] and poisoned["status_code"] == 200
    assert poisoned["method_name"] == "GET /v1/auth/me" and poisoned["user_address"]
    assert all(r["user_agent"] == "fine" for r in found if r is not poisoned)
    metrics = p.get("/metrics").text
    assert "nsl_audit_records_reduced_total 1" in metrics
    assert "nsl_audit_records_dropped_total 0" in metrics
    p.wait_for(lambda line: "stored without its free-text fields" in line.get("message", "")
               and line.get("request_id") == "mixed-17", timeout=5)
    # Later records are stored as usual.
    session.get(p.url + "/v1/auth/me", headers={"X-API-Key": p.admin_key, "X-Request-Id": "after-poison"}, timeout=10)
    wait_rows(p, "request_id = ?", ("after-poison",))


def test_audit_logging_can_be_turned_off(nsl_factory):
    p = audited_server(nsl_factory, env={"Security__EnableAuditLogging": "false"})
    requests.get(p.url + "/v1/auth/me", headers={"X-API-Key": p.admin_key}, timeout=10)
    time.sleep(0.4)
    assert rows(p) == []
    assert requests.get(p.url + "/v1/audit", headers={"X-API-Key": p.admin_key}, timeout=10).status_code == 404


def test_admins_manage_other_accounts_and_every_such_action_is_audited(nsl_factory):
    p = audited_server(nsl_factory, env={"RateLimiting__PermitLimit": "100000"})
    admin = {"X-API-Key": p.admin_key}

    def call(method, path, headers=admin, body=None, request_id=None):
        h = dict(headers, **({"X-Request-Id": request_id} if request_id else {}))
        return requests.request(method, p.url + path, json=body, headers=h, timeout=10)

    created = call("POST", "/v1/admin/accounts", body={"name": "ops-bot", "role": "operator"}, request_id="adm-create")
    assert created.status_code == 201, created.text
    bot = created.json()["account"]
    bot_key = {"X-API-Key": created.json()["api_key"]}
    assert call("GET", "/v1/auth/me", bot_key).json()["role"] == "operator"
    assert call("POST", "/v1/admin/accounts", body={"name": "ops-bot", "role": "user"}).status_code == 409
    bad = call("POST", "/v1/admin/accounts", body={"name": "x", "role": "root"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "role"

    # Only admins act, auditors read, everybody else is refused.
    assert call("GET", "/v1/admin/accounts", bot_key).status_code == 403
    auditor_key = {"X-API-Key": call("POST", "/v1/admin/accounts", body={"name": "aud", "role": "auditor"}).json()["api_key"]}
    listed = call("GET", "/v1/admin/accounts?role=operator", auditor_key)
    assert listed.status_code == 200 and [a["name"] for a in listed.json()["accounts"]] == ["ops-bot"]
    assert call("POST", f"/v1/admin/accounts/{bot['id']}/disable", auditor_key).status_code == 403

    # API keys of another account: within its role's permissions only; revoked ones stop working.
    scoped = call("POST", f"/v1/admin/accounts/{bot['id']}/api-keys", body={"name": "ro", "permissions": ["keys:read"]})
    assert scoped.status_code == 201 and scoped.json()["permissions"] == ["keys:read"]
    assert call("GET", "/v1/keys", {"X-API-Key": scoped.json()["api_key"]}).status_code == 200
    assert call("POST", f"/v1/admin/accounts/{bot['id']}/api-keys", body={"name": "x", "permissions": ["audit:read"]}).status_code == 403
    shown = call("GET", f"/v1/admin/accounts/{bot['id']}").json()
    initial = next(k for k in shown["api_keys"] if k["name"] == "initial")
    assert "api_key" not in json.dumps(shown["api_keys"]) and shown["role"] == "operator"
    assert call("DELETE", f"/v1/admin/accounts/{bot['id']}/api-keys/{initial['id']}", request_id="adm-revoke").status_code == 204
    assert call("GET", "/v1/auth/me", bot_key).status_code == 401
    assert call("DELETE", f"/v1/admin/accounts/{bot['id']}/api-keys/{initial['id']}x").status_code == 404

    # Disable: the account's tokens stop at once; enable brings them back. Role changes apply.
    ro = {"X-API-Key": scoped.json()["api_key"]}
    token = post(p, "/v1/auth/token", {"api_key": scoped.json()["api_key"]}).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert call("GET", "/v1/keys", bearer).status_code == 200
    assert call("POST", f"/v1/admin/accounts/{bot['id']}/disable", request_id="adm-disable").json()["disabled"] is True
    assert call("GET", "/v1/keys", bearer).status_code == 401 and call("GET", "/v1/keys", ro).status_code == 401
    assert call("POST", f"/v1/admin/accounts/{bot['id']}/enable").json()["disabled"] is False
    assert call("GET", "/v1/keys", bearer).status_code == 200
    assert call("POST", f"/v1/admin/accounts/{bot['id']}/role", body={"role": "user"}).json()["role"] == "user"
    assert call("GET", "/v1/admin/accounts/nobody").status_code == 404
    me = call("GET", "/v1/auth/me").json()["account_id"]
    assert call("POST", f"/v1/admin/accounts/{me}/disable").status_code == 409  # nobody locks themselves out

    # The audit trail names who acted on whom.
    for request_id in ("adm-create", "adm-revoke", "adm-disable"):
        [row] = wait_rows(p, "request_id = ?", (request_id,))
        assert row["event_type"] == "admin_action", row
        assert json.loads(row["request_data"])["target_account"] == bot["id"]
        assert row["user_address"] != bot["id"]
    found = call("GET", "/v1/audit?event_type=admin_action&limit=1000", auditor_key).json()
    entries = found["entries"] if isinstance(found, dict) and "entries" in found else found
    assert {e["request_id"] for e in entries} >= {"adm-create", "adm-revoke", "adm-disable"}
    assert all(e["event_type"] == "admin_action" for e in entries)


def test_time_filters_name_days_that_exist(nsl_factory):
    # Schemathesis found that from=0000-00-00 fitted the pattern and made PostgreSQL fail (500).
    p = audited_server(nsl_factory)
    admin = {"X-API-Key": p.admin_key}
    for bad in ["0000-00-00", "0000-01-01", "2026-02-30", "2026-13-01", "2026-01-01T24:00:00Z", "2026-01-01T10:60Z"]:
        for name in ["from", "to"]:
            r = requests.get(p.url + "/v1/audit", params={name: bad}, headers=admin, timeout=10)
            assert r.status_code == 400 and r.json()["errors"][0]["field"] == name, (bad, r.text)
    for good in ["0001-01-01", "2024-02-29", "2026-12-07T23:59:59.999999Z", "9999-12-31"]:
        r = requests.get(p.url + "/v1/audit", params={"from": good, "to": "9999-12-31"}, headers=admin, timeout=10)
        assert r.status_code == 200, (good, r.text)
    # And status=999999999999998 overflowed PostgreSQL's integer column (500).
    for bad in ["999999999999998", "99", "600"]:
        r = requests.get(p.url + "/v1/audit", params={"status": bad}, headers=admin, timeout=10)
        assert r.status_code == 400 and r.json()["errors"][0]["field"] == "status", (bad, r.text)
    requests.get(p.url + "/v1/auth/me", headers=admin, timeout=10)
    wait_rows(p, "method_name = 'GET /v1/auth/me'")
    found = requests.get(p.url + "/v1/audit", params={"from": "2000-01-01", "event_type": "api_request"}, headers=admin,
                         timeout=10).json()["entries"]
    assert any(e["method_name"] == "GET /v1/auth/me" for e in found)


MARKER = "zq!MARK 7e1f"  # no name, chain, role or key pattern accepts it: every request below fails


def filled(schema):
    """A value of `schema` with the marker in every string it holds."""
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if "object" in kinds or "properties" in schema:
        return {name: filled(sub) for name, sub in schema.get("properties", {}).items()}
    if "array" in kinds:
        return [filled(schema.get("items", {"type": "string"}))]
    if "integer" in kinds or "number" in kinds:
        return 1
    if "boolean" in kinds:
        return False
    return MARKER


def all_rows(p):
    """Every row of every table, as text."""
    if p.store.backend == "sqlite":
        tables = [r["name"] for r in p.store.rows("SELECT name FROM sqlite_master WHERE type = 'table'")]
    else:
        tables = [r["relname"] for r in p.store.rows(  # partitions are read through their parent
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition")]
    return {t: json.dumps(p.store.rows(f'SELECT * FROM "{t}"'), default=str) for t in tables}


def test_no_failed_request_leaves_a_body_value_in_the_database_or_the_logs(nsl_factory):
    """Every route that takes a body is sent one with a marker in every string, three ways that
    fail: without a credential, with an auditor's (no write permission) and with an admin's on
    resources that do not exist. Only the routes that declare their bodies free of secret material
    (x-nsl-audit-body) may keep the marker, in their audit records; it is nowhere else: no other
    table, no log line."""
    p = audited_server(nsl_factory)
    made = subprocess.run([BINARY, "admin", "create", "--name", "watcher", "--role", "auditor"], cwd=p.workdir,
                          env=p.env, capture_output=True, text=True, timeout=30)
    auditor = next(l.split()[2] for l in made.stdout.splitlines() if l.startswith("api key"))
    document = p.get("/openapi.json").json()
    audited, sent = [], 0
    for pattern, operations in document["paths"].items():
        path = pattern
        for name in [s[1:-1] for s in pattern.split("/") if s.startswith("{")]:
            path = path.replace("{" + name + "}", "missing-0")
        for verb, op in operations.items():
            if "requestBody" not in op:
                continue
            body = filled(op["requestBody"]["content"]["application/json"]["schema"])
            if op["x-nsl-audit-body"]:
                audited.append(f"{verb.upper()} {pattern}")
            for i, credential in enumerate(({}, {"X-API-Key": auditor}, {"X-API-Key": p.admin_key})):
                r = requests.request(verb, p.url + path, json=body, timeout=10,
                                     headers={**credential, "X-Request-Id": f"marker-{sent}-{i}"})
                if r.status_code < 400:  # revoking a refresh token nobody holds does nothing, and says so
                    assert (verb, pattern) == ("post", "/v1/auth/revoke") and r.status_code == 204, (verb, path, r.text)
                assert MARKER not in r.text or op["x-nsl-audit-body"], (verb, path, r.text)
            sent += 1
    assert sent >= 15 and audited, (sent, audited)
    assert p.stop() == 0  # the audit writer flushes on the way out

    leaked = {t: text.count(MARKER) for t, text in all_rows(p).items() if MARKER in text}
    assert set(leaked) <= {"audit_logs"}, leaked
    for row in rows(p):
        # The account a request acts on is recorded as such, whoever named it (an id, not a secret).
        request = json.loads(row["request_data"] or "{}")
        request.pop("target_account", None)
        if MARKER in json.dumps(request) + (row["error_message"] or "") + (row["response_data"] or ""):
            assert row["method_name"] in audited, {k: v for k, v in row.items() if v and MARKER in str(v)}
    # The test can see a leak: the declared routes' records do keep the marker.
    assert leaked.get("audit_logs", 0) >= len(audited), leaked
    assert not [l for l in p.logs() if MARKER in json.dumps(l)]
    assert MARKER not in (p.stderr or "")
