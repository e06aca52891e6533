"""Fixtures that run the real `nsl` binary on a free loopback port and talk to it over HTTP."""
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

BINARY = str(Path(os.environ.get("NSL_BINARY")
                  or Path(__file__).resolve().parents[2] / "build" / "src" / "app" / "nsl").resolve())


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
        self._lock = threading.Lock()

    def write_config(self, config: dict):
        path = self.workdir / "appsettings.json"
        path.write_text(json.dumps(config, indent=2))

    def start(self, wait=True):
        self.proc = subprocess.Popen([BINARY, *self.args], cwd=self.workdir, env=self.env,
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


@pytest.fixture
def nsl_factory(tmp_path):
    started = []

    def make(**kw):
        p = NslProcess(tmp_path / f"nsl{len(started)}", **kw)
        started.append(p)
        return p

    yield make
    for p in started:
        p.stop(signal.SIGKILL if p.proc and p.proc.poll() is None else signal.SIGTERM, timeout=5)


@pytest.fixture
def nsl(nsl_factory):
    """A server on its embedded defaults (SQLite in its working directory), on a free port."""
    return nsl_factory().start()
