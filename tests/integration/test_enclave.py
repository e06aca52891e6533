"""The enclave through the real server: nsl serve starts nsl-enclave, supervises it, reports it in
/health, serves its attestation report (checked here with an independent ECDSA implementation,
Python's `cryptography`), and never holds its secrets."""
import ctypes
import json
import os
import resource
import socket
import struct
import subprocess
import textwrap
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from conftest import BINARY

NONCE = "5a" * 24


def enclave_pid(nsl):
    # A restarted enclave is the child of the supervisor's thread, so every thread is looked at.
    children = [c for task in Path(f"/proc/{nsl.proc.pid}/task").iterdir()
                for c in (task / "children").read_text().split()]
    for pid in children:
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == "nsl-enclave":
                return int(pid)
        except FileNotFoundError:
            continue  # a child that has just exited
    raise AssertionError(f"no nsl-enclave child of {nsl.proc.pid}: {children}")


def report(nsl, nonce=NONCE):
    r = nsl.get(f"/v1/attestation/report?nonce={nonce}")
    assert r.status_code == 200, r.text
    return r.json()


def verify_independently(doc):
    """ECDSA P-256/SHA-256 over the prefix and the report as compact sorted JSON."""
    rep = doc["report"]
    message = b"nsl-attestation-v1\n" + json.dumps(rep, sort_keys=True, separators=(",", ":")).encode()
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), bytes.fromhex(rep["public_keys"]["attestation"]))
    sig = bytes.fromhex(doc["signature"])
    key.verify(encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")), message,
               ec.ECDSA(hashes.SHA256()))  # raises InvalidSignature


def documented_check():
    """The relying party's check as docs/enclave.md gives it (its Python block, run as written)."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "enclave.md").read_text()
    namespace = {}
    exec(textwrap.dedent(text.split("```python\n", 1)[1].split("```", 1)[0]), namespace)
    return namespace["check"]


def memlock_allows_locking():
    """Whether this machine lets the enclave lock its 2 MiB secure heap and its roots' pages."""
    soft = resource.getrlimit(resource.RLIMIT_MEMLOCK)[0]
    if soft != resource.RLIM_INFINITY and (2 << 20) <= soft < (3 << 20):
        pytest.skip(f"RLIMIT_MEMLOCK {soft} is too close to what the enclave locks to say which it will be")
    effective = next(int(l.split()[1], 16) for l in open("/proc/self/status") if l.startswith("CapEff:"))
    return soft == resource.RLIM_INFINITY or soft >= 3 << 20 or bool(effective & (1 << 14))  # CAP_IPC_LOCK


def test_health_reports_the_enclave_in_simulation_mode(nsl):
    body = nsl.get("/health").json()
    locked = memlock_allows_locking()
    assert body["checks"]["enclave"]["status"] == ("Healthy" if locked else "Degraded"), body
    assert "simulation" in body["checks"]["enclave"]["description"]
    assert ("keys and secrets in locked memory" in body["checks"]["enclave"]["description"]) == locked
    assert f"nsl_enclave_memory_locked {1 if locked else 0}" in nsl.get("/metrics").text
    assert nsl.get("/health/ready").status_code == 200


def test_keys_outside_locked_memory_are_reported_in_health_metrics_and_logs(nsl_factory):
    """Under an RLIMIT_MEMLOCK too low for the secure heap, the enclave still serves, and says so."""
    p = nsl_factory()
    hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)[1]

    def low_memlock():
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (64 << 10, hard))
        # Root with CAP_IPC_LOCK may lock past the limit: leave the capability out of what nsl
        # and its enclave may hold (PR_CAPBSET_DROP; refused, harmlessly, when not root).
        ctypes.CDLL(None, use_errno=True).prctl(24, 14, 0, 0, 0)

    p.preexec = low_memlock
    p.start()
    check = p.get("/health").json()["checks"]["enclave"]
    assert check["status"] == "Degraded" and "NOT in locked memory" in check["description"], check
    assert "nsl_enclave_memory_locked 0" in p.get("/metrics").text
    assert p.wait_for(lambda l: l.get("message", "").startswith("the enclave's keys and secrets are not in locked memory"))
    assert p.wait_for(lambda l: l.get("message") == "enclave answers")["memory_locked"] is False
    # It still serves.
    assert p.get("/health/ready").status_code == 200


def test_attestation_report_verifies_independently_and_with_nsl_attest_verify(nsl, tmp_path):
    doc = report(nsl)
    rep = doc["report"]
    assert rep["mode"] == "simulation"
    assert rep["nonce"] == NONCE
    measured = subprocess.run(["sha256sum", str(Path(BINARY).parent / "nsl-enclave")], capture_output=True, text=True)
    assert rep["measurement"] == measured.stdout.split()[0]
    verify_independently(doc)

    saved = tmp_path / "report.json"
    saved.write_text(json.dumps(doc))
    enclave_binary = str(Path(BINARY).parent / "nsl-enclave")
    # What relying parties pin: the attestation key the operator publishes (nsl logs it at start)
    # and the key that verifies access tokens (GET /v1/auth/keys).
    pinned = nsl.wait_for(lambda l: l.get("message") == "enclave answers")["attestation_key"]
    assert rep["public_keys"]["attestation"] == pinned
    jwt = nsl.get("/v1/auth/keys").json()["public_key"]
    verify = [BINARY, "attest", "verify", str(saved), "--nonce", NONCE, "--enclave-binary", enclave_binary,
              "--max-age", "120", "--allow-simulation"]
    ok = subprocess.run(verify + ["--attestation-key", pinned, "--key", f"jwt={jwt}"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout
    assert "the report is valid" in ok.stdout and "jwt key      ok" in ok.stdout
    # A report checked only against the key it carries proves nothing: refused without the pin,
    # and against another key or another token key.
    check = documented_check()
    assert check(doc, pinned, rep["measurement"], NONCE, {"jwt": jwt}) == "simulation"
    for args in ((doc, "02" + "11" * 32, rep["measurement"], NONCE), (doc, pinned, "00" * 32, NONCE),
                 (doc, pinned, rep["measurement"], NONCE, {"jwt": "02" + "11" * 32})):
        with pytest.raises(AssertionError):
            check(*args)
    unpinned = subprocess.run(verify, capture_output=True, text=True)
    assert unpinned.returncode == 1 and "key          FAILED" in unpinned.stdout, unpinned.stdout
    other = "02" + "11" * 32
    for extra in (["--attestation-key", other], ["--attestation-key", pinned, "--key", f"jwt={other}"]):
        wrong = subprocess.run(verify + extra, capture_output=True, text=True)
        assert wrong.returncode == 1 and "FAILED" in wrong.stdout, (extra, wrong.stdout)
    # Without --allow-simulation, and with another nonce, it says why it fails.
    bad = subprocess.run([BINARY, "attest", "verify", str(saved), "--nonce", "00" * 16], capture_output=True, text=True)
    assert bad.returncode == 1
    assert "nonce        FAILED" in bad.stdout and "mode         FAILED" in bad.stdout
    # A changed report no longer verifies.
    doc["report"]["mode"] = "sgx"
    saved.write_text(json.dumps(doc))
    changed = subprocess.run([BINARY, "attest", "verify", str(saved)], capture_output=True, text=True)
    assert changed.returncode == 1
    assert "signature    FAILED" in changed.stdout


@pytest.mark.parametrize("nonce", ["", "zz" * 16, "ab" * 8, "ab" * 65, "abc"])
def test_a_bad_nonce_is_a_400_naming_the_field(nsl, nonce):
    r = nsl.get(f"/v1/attestation/report?nonce={nonce}")
    assert r.status_code == 400
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == "nonce"


def test_a_killed_enclave_comes_back_with_the_same_keys(nsl):
    before = report(nsl)["report"]["public_keys"]
    first = enclave_pid(nsl)
    os.kill(first, 9)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            if enclave_pid(nsl) != first and nsl.get("/health").json()["checks"]["enclave"]["status"] == "Healthy":
                break
        except AssertionError:
            pass
        time.sleep(0.05)
    doc = report(nsl)
    verify_independently(doc)
    assert doc["report"]["public_keys"] == before  # the same sealing root: every key still works
    metrics = nsl.get("/metrics").text
    assert "nsl_enclave_restarts_total 1" in metrics
    assert "nsl_enclave_up 1" in metrics
    nsl.wait_for(lambda l: l.get("message") == "enclave died; starting it again", timeout=5)


def frame(obj):
    body = json.dumps(obj).encode()
    return struct.pack(">I", len(body)) + body


def read_frame(s):
    header = s.recv(4)
    n = struct.unpack(">I", header)[0]
    data = b""
    while len(data) < n:
        data += s.recv(n - len(data))
    return json.loads(data)


def test_another_process_on_the_socket_is_refused(nsl):
    sock_path = nsl.workdir / "data" / "enclave" / "enclave.sock"
    assert oct(sock_path.stat().st_mode & 0o777) == "0o600"
    assert oct(sock_path.parent.stat().st_mode & 0o777) == "0o700"
    s = socket.socket(socket.AF_UNIX)
    s.connect(str(sock_path))
    try:
        s.sendall(frame({"op": "hello", "token": "00" * 32, "version": 1}))
    except (BrokenPipeError, ConnectionResetError):
        pass  # the peer check refuses before reading a hello: the refusal may come first
    answer = read_frame(s)
    assert answer["ok"] is False
    assert answer["error"]["code"] == "unauthorized"
    try:  # and the connection is closed
        closed = s.recv(1) == b""
    except ConnectionResetError:  # closed with our hello unread
        closed = True
    assert closed
    nsl.wait_for(lambda l: l.get("message") == "enclave connection refused: not the server process", timeout=5)


def test_the_enclave_process_is_hardened(nsl):
    pid = enclave_pid(nsl)
    status = Path(f"/proc/{pid}/status").read_text()
    assert "Seccomp:\t2" in status
    limits = Path(f"/proc/{pid}/limits").read_text()
    core = next(l for l in limits.splitlines() if l.startswith("Max core file size"))
    assert core.split()[4:6] == ["0", "0"], core
    root = nsl.workdir / "data" / "enclave" / "sealing-root"
    assert oct(root.stat().st_mode & 0o777) == "0o600"


def derived_attestation_key(root_secret: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"nsl-enclave-derive",
                info=b"nsl/derive/v1/attestation").derive(root_secret)


def test_the_server_process_never_holds_the_sealing_secret_or_derived_keys(nsl, tmp_path):
    doc = report(nsl)
    roots = (nsl.workdir / "data" / "enclave" / "sealing-root").read_text().split()
    secret = bytes.fromhex(roots[-1])
    attestation_key = derived_attestation_key(secret)
    # The key derived here is the enclave's: its public key is the one in the report.
    pub = ec.derive_private_key(int.from_bytes(attestation_key, "big"), ec.SECP256R1()).public_key()
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    assert pub.public_bytes(Encoding.X962, PublicFormat.CompressedPoint).hex() == doc["report"]["public_keys"]["attestation"]
    core = tmp_path / "core"
    dumped = subprocess.run(["gcore", "-o", str(core), str(nsl.proc.pid)], capture_output=True, text=True, timeout=120)
    assert dumped.returncode == 0, dumped.stderr
    image = Path(f"{core}.{nsl.proc.pid}").read_bytes()
    # The dump is real: it holds what the server did handle (the report it relayed).
    assert doc["signature"].encode() in image
    for needle in (secret, secret.hex().encode(), attestation_key, attestation_key.hex().encode()):
        assert needle not in image


def test_a_sealing_secret_others_may_read_stops_startup_clearly(nsl_factory):
    p = nsl_factory()
    (p.workdir / "data" / "enclave").mkdir(parents=True)
    root = p.workdir / "data" / "enclave" / "sealing-root"
    root.write_text("nsl-root-v1 " + "11" * 32 + "\n")
    root.chmod(0o644)
    code, out, err = p.run_to_end()
    assert code == 2
    assert "nsl-enclave exited with status 1 while starting" in err
    assert "Enclave:SealingKeyPath" in err and "it must be 0600" in err


def test_sgx_requested_on_a_build_without_it_is_refused(nsl_factory):
    p = nsl_factory(env={"Security__EnableSgx": "true"})
    code, _, err = p.run_to_end()
    assert code == 2
    assert "Security:EnableSgx" in err
