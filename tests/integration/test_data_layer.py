"""The data layer over the real binary on SQLite and PostgreSQL: replicas starting together on an
empty database, backup -> verify -> restore, retention, and (PostgreSQL) a server restart under a
write load with no acknowledged write lost."""
import os
import re
import subprocess
import threading
import time

import pytest
import requests

from test_identity import admin_key, post

pytestmark = pytest.mark.usefixtures("backend")


def run(p, *args, timeout=60):
    p.args = list(args)
    return p.run_to_end(timeout=timeout)


def latest_schema(p):
    """The newest schema version this build knows, as `nsl migrate --status` reports it."""
    known = int(re.search(r"this build knows up to (\d+)", run(p, "migrate", "--status")[1]).group(1))
    assert known >= 9
    return known


def started(nsl_factory, **kw):
    p = nsl_factory(**kw)
    assert run(p, "migrate")[0] == 0
    key = admin_key(p)
    p.args = ["serve", "--urls", "http://127.0.0.1:0"]
    p.start()
    p.admin = {"X-API-Key": key}
    return p


def test_replicas_started_together_on_an_empty_database_both_come_up(nsl_factory, tmp_path):
    env = {"Database__SqlitePath": str(tmp_path / "shared.db"), "Enclave__SealingKeyPath": str(tmp_path / "root")}
    replicas = [nsl_factory(env=env) for _ in range(3)]
    for p in replicas:
        p.start(wait=False)
    for p in replicas:
        p.wait_for(lambda l: l.get("message", "").startswith("Now listening on: "), timeout=30)
        assert p.get("/health/ready").status_code == 200
    applied = sum(1 for p in replicas for l in p.logs() if l.get("message") == "applying migration")
    assert applied == latest_schema(replicas[0]), "each migration is applied once, by one of the replicas"


def test_backup_verify_restore_round_trip(nsl_factory, tmp_path):
    p = started(nsl_factory)
    for i in range(5):
        r = post(p, "/v1/secrets", {"name": f"s{i}", "value": f"value-{i}"}, headers=p.admin)
        assert r.status_code == 201, r.text
    p.stop()
    audit = len(p.store.rows("SELECT id FROM audit_logs"))
    assert audit >= 5

    backups = tmp_path / "backups"
    code, out, err = run(p, "backup", "-o", str(backups))
    assert code == 0, err
    path = out.strip()
    assert os.path.exists(path) and path.endswith(".pgdump" if p.store.backend == "postgres" else ".sqlite.gz")
    assert "nsl backup: wrote" in err

    code, out, err = run(p, "backup", "verify", path)
    assert code == 0, err
    assert re.search(rf"audit_logs\s+{audit} rows", out), out
    assert re.search(r"storage_data\s+0 rows", out) and f"schema version  {latest_schema(p)}" in out and "integrity       ok" in out
    # Every service's tables are counted, and a partitioned table once (PostgreSQL).
    assert re.search(r"^secrets\s+5 rows$", out, re.M) and re.search(r"^accounts\s+\d+ rows$", out, re.M), out
    assert "audit_logs_" not in out, out

    # Lose data, then restore: refused over a database with data unless forced.
    post_loss = p.store.rows("SELECT name FROM secrets")
    assert len(post_loss) == 5
    code, _, err = run(p, "restore", path)
    assert code != 0 and "--force" in err
    if p.store.backend == "sqlite":
        for f in (p.workdir / "data").glob("nsl.db*"):
            f.unlink()
        code, _, err = run(p, "restore", path)
    else:
        code, _, err = run(p, "restore", "--force", path)
    assert code == 0, err
    p.args = ["serve", "--urls", "http://127.0.0.1:0"]
    p.lines.clear()
    p.start()
    # The admin key and every secret came back (the enclave's sealing root is unchanged).
    r = requests.post(p.url + "/v1/secrets/s3/reveal", headers=p.admin, timeout=10)
    assert r.status_code == 200 and r.json()["value"] == "value-3"
    assert len(p.store.rows("SELECT id FROM audit_logs")) >= audit


def test_backups_are_pruned_to_keep_and_a_damaged_one_is_reported(nsl_factory, tmp_path):
    p = started(nsl_factory)
    p.stop()
    backups = tmp_path / "b"
    for _ in range(3):
        assert run(p, "backup", "-o", str(backups), "--keep", "2")[0] == 0
    kept = sorted(backups.iterdir())
    assert len(kept) == 2
    damaged = backups / ("nsl-20200101T000000000Z" + ("".join(kept[0].suffixes)))
    data = kept[0].read_bytes()
    damaged.write_bytes(data[: len(data) // 2])
    code, out, err = run(p, "backup", "verify", str(damaged))
    assert code != 0 and ("damaged" in err or "failed" in err or "not a readable" in err), (out, err)


def test_retention_removes_expired_storage_sign_in_state_and_old_audit_records(nsl_factory):
    p = nsl_factory(env={"Security__AuditRetentionDays": "30"})
    assert run(p, "migrate")[0] == 0
    # Rows written as an older deployment would have left them.
    p.store_sql = [
        "INSERT INTO storage_data (id, user_address, key, value, size_bytes, expires_at) "
        "VALUES ('00000000-0000-0000-0000-0000000000a1', 'u', 'old', '{}', 2, '2020-01-01T00:00:00.000Z')",
        "INSERT INTO audit_logs (event_type, service_name, method_name, created_at) "
        "VALUES ('api_request', 's', 'm', '2020-01-15T00:00:00.000Z')",
        "INSERT INTO audit_logs (event_type, service_name, method_name) VALUES ('api_request', 's', 'm')",
        # Sign-in nonces, refresh tokens and revocations: one expired and one live of each.
        "INSERT INTO accounts (id, name, kind, role) VALUES ('acc', 'acc', 'name', 'user')",
        "INSERT INTO wallet_nonces (nonce, chain, address, message, expires_at) "
        "VALUES ('n-old', 'neo-x', 'a', 'm', '2020-01-01T00:00:00.000Z'), ('n-new', 'neo-x', 'a', 'm', '2999-01-01T00:00:00.000Z')",
        "INSERT INTO refresh_tokens (id, family, account_id, hash, scope, expires_at) "
        "VALUES ('r-old', 'f', 'acc', 'h1', '[]', '2020-01-01T00:00:00.000Z'), ('r-new', 'f', 'acc', 'h2', '[]', '2999-01-01T00:00:00.000Z')",
        "INSERT INTO revoked_tokens (jti, expires_at) "
        "VALUES ('j-old', '2020-01-01T00:00:00.000Z'), ('j-new', '2999-01-01T00:00:00.000Z')",
    ]
    for sql in p.store_sql:
        p.store.execute(sql)
    code, out, err = run(p, "retention", "run")
    assert code == 0, err
    assert re.search(r"expired storage entries removed\s+1\n", out), out
    assert re.search(r"expired sign-in nonces and tokens removed\s+3\n", out), out
    assert p.store.rows("SELECT count(*) AS n FROM storage_data")[0]["n"] == 0
    assert p.store.rows("SELECT count(*) AS n FROM audit_logs")[0]["n"] == 1
    assert [r["nonce"] for r in p.store.rows("SELECT nonce FROM wallet_nonces")] == ["n-new"]
    assert [r["id"] for r in p.store.rows("SELECT id FROM refresh_tokens")] == ["r-new"]
    assert [r["jti"] for r in p.store.rows("SELECT jti FROM revoked_tokens")] == ["j-new"]


def test_a_database_restart_under_write_load_loses_no_acknowledged_write(nsl_factory, backend):
    if backend != "postgres":
        pytest.skip("a PostgreSQL server restart")
    script, pg_dir = os.environ["NSL_TEST_PG_SCRIPT"], os.environ["NSL_TEST_PG_DIR"]
    p = started(nsl_factory, env={"RateLimiting__PermitLimit": "1000000", "Quotas__SecretsPerAccount": "10000000"})
    acknowledged, failures, unexpected, stop = [], [], [], threading.Event()

    def writer(w):
        i = 0
        session = requests.Session()
        while not stop.is_set():
            name = f"w{w}-{i}"
            i += 1
            try:
                r = session.post(p.url + "/v1/secrets", json={"name": name, "value": "v"}, headers=p.admin, timeout=30)
            except requests.RequestException as e:
                failures.append(str(e))
                continue
            if r.status_code == 201:
                acknowledged.append(name)
            elif r.status_code == 503 and r.headers.get("Retry-After"):
                failures.append(r.status_code)
            else:
                unexpected.append((r.status_code, r.text))

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    before = len(acknowledged)
    assert before > 0
    subprocess.run([script, "stop", pg_dir], check=True)
    saw_unready = False
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not saw_unready:
        saw_unready = p.get("/health/ready").status_code == 503
        time.sleep(0.2)
    time.sleep(1.0)
    subprocess.run([script, "start", pg_dir], check=True, capture_output=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and p.get("/health/ready").status_code != 200:
        time.sleep(0.2)
    assert p.get("/health/ready").status_code == 200
    after_restart = len(acknowledged)
    time.sleep(1.5)
    stop.set()
    for t in threads:
        t.join()
    assert not unexpected, unexpected[:3]
    assert saw_unready, "readiness never reported the database down"
    assert len(acknowledged) > after_restart, "writes did not resume after the restart"
    stored = {r["name"] for r in p.store.rows("SELECT name FROM secrets")}
    lost = [n for n in acknowledged if n not in stored]
    assert not lost, f"acknowledged writes lost: {lost[:5]}"
    metrics = p.get("/metrics").text
    assert "nsl_db_pool_connections" in metrics and "nsl_db_retries_total" in metrics
