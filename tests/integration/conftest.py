"""Fixtures that run the real `nsl` binary on a free loopback port and talk to it over HTTP."""
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

BINARY = str(Path(os.environ.get("NSL_BINARY")
                  or Path(__file__).resolve().parents[2] / "build" / "bin" / "nsl").resolve())


PG_URL = os.environ.get("NSL_TEST_PG_URL")


def pg_tool(name):
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/" + name))
    return str(versions[-1]) if versions else name


class Store:
    """The database one test's servers share: a SQLite file in the first server's working directory
    (the embedded default) or a PostgreSQL schema of its own on the server scripts/test.sh started."""

    def __init__(self, backend, workdir: Path):
        self.backend = backend
        self.workdir = workdir
        self.schema = "t_" + uuid.uuid4().hex[:16]
        self.env = {}
        if backend == "postgres":
            self.env["ConnectionStrings__DefaultConnection"] = f"{PG_URL}?search_path={self.schema}"

    @property
    def psql_url(self):
        return f"{PG_URL}?options={quote('-csearch_path=' + self.schema)}"

    def rows(self, sql, params=()):
        """Rows of a query as dicts; placeholders are '?'."""
        if self.backend == "sqlite":
            with sqlite3.connect(self.workdir / "data" / "nsl.db") as db:
                db.row_factory = sqlite3.Row
                return [dict(r) for r in db.execute(sql, params)]
        parts = sql.split("?")
        assert len(parts) == len(params) + 1, "one parameter per '?'"
        literal = lambda v: "NULL" if v is None else str(v) if isinstance(v, (int, float)) else \
            "'" + str(v).replace("'", "''") + "'"
        text = parts[0] + "".join(literal(v) + rest for v, rest in zip(params, parts[1:]))
        out = subprocess.run([pg_tool("psql"), self.psql_url, "-At", "-v", "ON_ERROR_STOP=1", "-c",
                              f"SELECT coalesce(json_agg(t), '[]') FROM ({text}) t"],
                             capture_output=True, text=True, check=True)
        # JSON columns read back as text, as SQLite holds them.
        return [{k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in row.items()}
                for row in json.loads(out.stdout)]

    def execute(self, sql):
        """Runs one statement that returns nothing."""
        if self.backend == "sqlite":
            with sqlite3.connect(self.workdir / "data" / "nsl.db") as db:
                db.execute(sql)
            return
        subprocess.run([pg_tool("psql"), self.psql_url, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql],
                       capture_output=True, text=True, check=True)

    def drop(self):
        """Removes the test's PostgreSQL schema, so repeated runs against one server leave nothing behind."""
        if self.backend == "postgres":
            subprocess.run([pg_tool("psql"), PG_URL, "-q", "-c", f"DROP SCHEMA IF EXISTS {self.schema} CASCADE"],
                           capture_output=True, text=True, check=False)

    def raw_bytes(self):
        """Everything the store holds, as bytes: the SQLite files, or a data dump of the schema."""
        if self.backend == "sqlite":
            data = self.workdir / "data"
            return b"".join(f.read_bytes() for f in sorted(data.glob("nsl.db*")))
        return subprocess.run([pg_tool("pg_dump"), "--data-only", "-n", self.schema, PG_URL],
                              capture_output=True, check=True).stdout


class Answer:
    """A response read by `at_once`: status, text and JSON, like a `requests` response."""

    def __init__(self, status, text):
        self.status_code, self.text = status, text

    def json(self):
        return json.loads(self.text)


def at_once(url, calls, timeout=30):
    """Sends every call of `calls` — (method, path, headers, body) — on its own connection, all
    connected before any is sent, so that they reach the server together. Returns the answers in
    the order of `calls`."""
    import http.client
    from concurrent.futures import ThreadPoolExecutor
    host, port = url.rsplit("/", 1)[1].rsplit(":", 1)
    start = threading.Barrier(len(calls))

    def send(c):
        method, path, headers, body = c
        conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
        try:
            conn.connect()
            start.wait(timeout=timeout)
            extra = {"Content-Type": "application/json"} if body is not None else {}
            conn.request(method, path, body=None if body is None else json.dumps(body), headers={**headers, **extra})
            r = conn.getresponse()
            return Answer(r.status, r.read().decode())
        finally:
            conn.close()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(send, calls))


class NslProcess:
    """One `nsl` process. Its stdout (JSON log lines) is collected as it is written."""

    def __init__(self, workdir: Path, args=None, env=None, config=None, env_config=None, environment=None):
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        if config is not None:
            self.write_config(config)
        if env_config is not None:
            (workdir / f"appsettings.{environment}.json").write_text(json.dumps(env_config))
        self.env = {k: v for k, v in os.environ.items()
                    if "__" not in k and k not in ("ASPNETCORE_URLS", "NSL_URLS", "NSL_ENVIRONMENT",
                                                   "ASPNETCORE_ENVIRONMENT", "NSL_CONFIG_DIR")}
        if environment:
            self.env["NSL_ENVIRONMENT"] = environment
        self.env.update(env or {})
        self.args = args if args is not None else ["serve", "--urls", "http://127.0.0.1:0"]
        self.lines = []
        self.stderr = ""
        self.proc = None
        self.preexec = None  # run in the child before nsl starts (e.g. to lower a resource limit)
        self._lock = threading.Lock()

    def write_config(self, config: dict):
        path = self.workdir / "appsettings.json"
        path.write_text(json.dumps(config, indent=2))

    def start(self, wait=True):
        self.proc = subprocess.Popen([BINARY, *self.args], cwd=self.workdir, env=self.env, preexec_fn=self.preexec,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._pump_stdout, daemon=True).start()
        threading.Thread(target=self._pump_stderr, daemon=True).start()
        if wait:
            self.wait_for(lambda l: l.get("message", "").startswith("Now listening on: "), timeout=20)
        return self

    def _pump_stdout(self):
        for raw in self.proc.stdout:
            try:
                line = json.loads(raw)
            except json.JSONDecodeError:
                line = {"unparsed": raw}
            with self._lock:
                self.lines.append(line)

    def _pump_stderr(self):
        self.stderr = self.proc.stderr.read()

    def logs(self):
        with self._lock:
            return list(self.lines)

    def wait_for(self, predicate, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.logs():
                if predicate(line):
                    return line
            if self.proc.poll() is not None:
                time.sleep(0.2)  # let the pumps drain
                for line in self.logs():
                    if predicate(line):
                        return line
                raise AssertionError(f"nsl exited with {self.proc.returncode}; stderr: {self.stderr!r}; "
                                     f"logs: {self.logs()[-5:]}")
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting; last log lines: {self.logs()[-5:]}")

    @property
    def port(self):
        line = self.wait_for(lambda l: l.get("message", "").startswith("Now listening on: "))
        return line["port"]

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def get(self, path, **kw):
        kw.setdefault("timeout", 10)
        return requests.get(self.url + path, **kw)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def run_to_end(self, timeout=30):
        """For commands that exit by themselves: returns (exit code, stdout, stderr)."""
        proc = subprocess.run([BINARY, *self.args], cwd=self.workdir, env=self.env, capture_output=True,
                              text=True, timeout=timeout)
        return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    """Runs a test once per database backend (modules opt in with usefixtures("backend"))."""
    if request.param == "postgres" and not PG_URL:
        pytest.skip("NSL_TEST_PG_URL is not set: scripts/test.sh starts a PostgreSQL server")
    return request.param


@pytest.fixture
def nsl_factory(tmp_path, request):
    started = []
    backend = request.getfixturevalue("backend") if "backend" in request.fixturenames else "sqlite"
    store = Store(backend, tmp_path / "nsl0")

    def make(**kw):
        kw["env"] = {**store.env, **(kw.get("env") or {})}
        p = NslProcess(tmp_path / f"nsl{len(started)}", **kw)
        p.store = store
        started.append(p)
        return p

    yield make
    for p in started:
        p.stop(signal.SIGKILL if p.proc and p.proc.poll() is None else signal.SIGTERM, timeout=5)
    store.drop()


@pytest.fixture
def nsl(nsl_factory):
    """A server on its embedded defaults (SQLite in its working directory), on a free port."""
    return nsl_factory().start()
