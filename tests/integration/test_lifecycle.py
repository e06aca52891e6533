"""Process lifecycle: graceful shutdown, configuration hot reload, migrations."""
import json
import signal
import socket
import sqlite3
import time

import pytest


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=10)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_during_a_slow_request_completes_it_and_exits_0(nsl, sig):
    port = nsl.port
    idle = connect(port)  # an idle keep-alive client: must be let go, not waited for
    idle.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
    assert idle.recv(65536).startswith(b"HTTP/1.1 200")
    slow = connect(port)
    # A request whose body is still arriving when the signal comes.
    slow.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234")
    time.sleep(0.3)
    nsl.proc.send_signal(sig)
    nsl.wait_for(lambda l: l.get("message") == "shutdown requested")
    time.sleep(0.5)
    assert nsl.proc.poll() is None, "exited before the request in flight was answered"
    # No new connections once draining.
    with pytest.raises(ConnectionRefusedError):
        connect(port)
    assert idle.recv(65536) == b""  # the idle connection was closed by the server
    slow.sendall(b"56789")
    reply = b""
    while True:
        data = slow.recv(65536)
        if not data:
            break
        reply += data
    assert reply.startswith(b"HTTP/1.1 200"), reply
    assert b"Connection: close" in reply
    assert reply.endswith(b'{"status":"Healthy"}')
    assert nsl.proc.wait(timeout=10) == 0
    messages = [l.get("message") for l in nsl.logs()]
    assert "HTTP server stopped" in messages and messages[-1] == "stopped"


def test_shutdown_deadline_bounds_the_wait(nsl_factory):
    nsl = nsl_factory(config={"Server": {"ShutdownTimeoutSeconds": 1}}).start()
    stuck = connect(nsl.port)
    stuck.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nnever finished")
    time.sleep(0.2)
    started = time.monotonic()
    nsl.proc.send_signal(signal.SIGTERM)
    assert nsl.proc.wait(timeout=10) == 0
    assert time.monotonic() - started < 5
    line = nsl.wait_for(lambda l: l.get("message") == "HTTP server stopped")
    assert line["connections_closed_forcibly"] == 1


def access_lines(nsl, request_id):
    return [l for l in nsl.logs() if l.get("category") == "http.access" and l.get("request_id") == request_id]


def test_log_level_changes_when_the_file_is_edited(nsl_factory):
    config = {"Logging": {"LogLevel": {"Default": "Information", "http.access": "None"}}}
    nsl = nsl_factory(config=config).start()
    nsl.get("/health/live", headers={"X-Request-Id": "before-edit"})
    time.sleep(0.3)
    assert access_lines(nsl, "before-edit") == []
    config["Logging"]["LogLevel"]["http.access"] = "Information"
    nsl.write_config(config)
    line = nsl.wait_for(lambda l: l.get("message") == "configuration reloaded", timeout=10)
    assert line["applied"] == "Logging"
    nsl.get("/health/live", headers={"X-Request-Id": "after-edit"})
    nsl.wait_for(lambda l: l.get("request_id") == "after-edit")


def test_bad_edit_is_rejected_and_the_running_settings_kept(nsl_factory):
    config = {"Logging": {"LogLevel": {"Default": "Information"}}}
    nsl = nsl_factory(config=config).start()
    (nsl.workdir / "appsettings.json").write_text('{"Logging": {"LogLevel": {"Default": "Verbose"}}}')
    line = nsl.wait_for(lambda l: l.get("message") == "configuration reload rejected; keeping the running settings",
                        timeout=10)
    assert "Logging:LogLevel:Default: unknown log level" in line["errors"]
    nsl.get("/health/live", headers={"X-Request-Id": "still-info"})
    nsl.wait_for(lambda l: l.get("request_id") == "still-info")  # Information still applies
    (nsl.workdir / "appsettings.json").write_text("{ not json")
    nsl.wait_for(lambda l: "invalid JSON" in l.get("errors", ""), timeout=10)
    assert nsl.get("/health/ready").status_code == 200


def test_changes_that_need_a_restart_are_reported_not_applied(nsl_factory):
    config = {"Services": {"MaxConcurrentRequests": 100}}
    nsl = nsl_factory(config=config).start()
    config["Services"]["MaxConcurrentRequests"] = 5
    config["RateLimiting"] = {"PermitLimit": 7}
    nsl.write_config(config)
    warn = nsl.wait_for(lambda l: l.get("message") == "configuration changes that need a restart were not applied",
                        timeout=10)
    assert warn["sections"] == "Services"
    assert nsl.wait_for(lambda l: l.get("message") == "configuration reloaded")["applied"] == "RateLimiting"


def test_migrate_command_step_by_step(nsl_factory):
    p = nsl_factory(args=["migrate", "--status"])
    code, out, _ = p.run_to_end()
    assert code == 0
    assert "schema version: 0" in out
    pending = re_count(out, "pending")
    assert pending >= 4

    p.args = ["migrate", "--to", "1"]
    code, out, _ = p.run_to_end()
    assert code == 0, out
    assert "applying 1:" in out and "schema is at version 1" in out

    p.args = ["migrate"]
    code, out, _ = p.run_to_end()
    assert code == 0
    assert "applying 2:" in out and f"applying {pending}:" in out and f"schema is at version {pending}" in out

    p.args = ["migrate"]
    code, out, _ = p.run_to_end()
    assert code == 0 and "nothing to apply" in out

    with sqlite3.connect(p.workdir / "data" / "nsl.db") as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"storage_data", "oracle_requests", "audit_logs", "schema_migrations"} <= tables
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def re_count(text, word):
    return sum(1 for line in text.splitlines() if line.strip().startswith(word))


def test_serve_refuses_an_unmigrated_database_when_told_not_to_migrate(nsl_factory):
    p = nsl_factory(args=["serve", "--urls", "http://127.0.0.1:0"],
                    config={"Database": {"MigrateOnStartup": False}})
    code, _, err = p.run_to_end()
    assert code == 2
    assert "run `nsl migrate`" in err
    p.args = ["migrate"]
    assert p.run_to_end()[0] == 0
    p.args = ["serve", "--urls", "http://127.0.0.1:0"]
    p.start()
    assert p.get("/health/ready").status_code == 200


def test_a_database_from_a_newer_build_is_refused(nsl_factory):
    p = nsl_factory(args=["migrate"])
    assert p.run_to_end()[0] == 0
    with sqlite3.connect(p.workdir / "data" / "nsl.db") as db:
        db.execute("INSERT INTO schema_migrations VALUES (99, 'future', 'x', '2030-01-01T00:00:00.000Z')")
    p.args = ["serve", "--urls", "http://127.0.0.1:0"]
    code, _, err = p.run_to_end()
    assert code != 0
    assert "schema version 99" in err


def test_sqlite_path_is_configurable_and_startup_migrates(nsl_factory, tmp_path):
    db_path = tmp_path / "elsewhere" / "custom.db"
    nsl = nsl_factory(env={"Database__SqlitePath": str(db_path)}).start()
    assert nsl.get("/health").json()["checks"]["database"]["description"] == f"sqlite:{db_path}"
    applied = [l["version"] for l in nsl.logs() if l.get("message") == "applying migration"]
    assert applied == list(range(1, len(applied) + 1))
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] == applied[-1]


def test_two_servers_started_at_once_on_one_database_both_come_up(nsl_factory, tmp_path):
    db_path = str(tmp_path / "shared.db")
    a = nsl_factory(env={"Database__SqlitePath": db_path}).start(wait=False)
    b = nsl_factory(env={"Database__SqlitePath": db_path}).start(wait=False)
    for p in (a, b):
        p.wait_for(lambda l: l.get("message", "").startswith("Now listening on: "), timeout=20)
        assert p.get("/health/ready").status_code == 200
    applied = [l for p in (a, b) for l in p.logs() if l.get("message") == "applying migration"]
    versions = sorted(l["version"] for l in applied)
    assert versions == list(range(1, len(versions) + 1)) and len(versions) >= 4  # each applied exactly once
