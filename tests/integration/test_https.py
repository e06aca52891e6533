"""The HTTPS listener: TLS 1.2+ with the configured certificate, reloaded when its files change,
and Security:RequireHttps sending plain HTTP to HTTPS (health and metrics from trusted proxies
excepted)."""
import socket
import ssl
import subprocess
import time

import pytest
import requests

from test_identity import admin_key


def make_certificate(directory, name, cn):
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={cn}",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


def peer_certificate(port, old_protocols=False):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if old_protocols:
        # A client that offers only TLS 1.0 and 1.1 (allowed on this side at security level 0).
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw) as tls:
            return tls.getpeercert(binary_form=True), tls.version()


def https_server(nsl_factory, tmp_path, env=None):
    cert, key = make_certificate(tmp_path, "server", "nsl-first")
    p = nsl_factory(env={"Server__Certificate__Path": str(cert), "Server__Certificate__KeyPath": str(key), **(env or {})},
                    args=["migrate"])
    assert p.run_to_end()[0] == 0
    p.admin = {"X-API-Key": admin_key(p)}
    p.args = ["serve", "--urls", "http://127.0.0.1:0;https://127.0.0.1:0"]
    p.start()
    line = p.wait_for(lambda l: l.get("message", "").startswith("Now listening on: https://"))
    p.https = f"https://127.0.0.1:{line['port']}"
    p.https_port = line["port"]
    p.cert, p.key = cert, key
    return p


def test_requests_over_tls_use_the_certificate_and_its_reload(nsl_factory, tmp_path):
    p = https_server(nsl_factory, tmp_path, env={"Server__RequestHeadersTimeoutSeconds": "2"})
    r = requests.get(p.https + "/v1/auth/me", headers=p.admin, verify=str(p.cert), timeout=10)
    assert r.status_code == 200 and r.json()["role"] == "admin"
    assert "max-age" in r.headers["Strict-Transport-Security"]  # HSTS over HTTPS only
    assert "Strict-Transport-Security" not in p.get("/health").headers
    first, version = peer_certificate(p.https_port)
    assert version in ("TLSv1.2", "TLSv1.3")
    # Old protocol versions are refused by the server (its alert, not a client-side refusal).
    with pytest.raises(ssl.SSLError) as refused:
        peer_certificate(p.https_port, old_protocols=True)
    assert "ALERT_PROTOCOL_VERSION" in str(refused.value), refused.value
    # A renewed certificate is picked up without a restart.
    new_cert, new_key = make_certificate(tmp_path, "renewed", "nsl-second")
    p.key.write_bytes(new_key.read_bytes())
    p.cert.write_bytes(new_cert.read_bytes())
    p.wait_for(lambda l: l.get("message") == "TLS certificate reloaded", timeout=10)
    second, _ = peer_certificate(p.https_port)
    assert second != first and second == ssl.PEM_cert_to_DER_cert(new_cert.read_text())
    assert requests.get(p.https + "/health/live", verify=str(new_cert), timeout=10).status_code == 200
    # A broken renewal is refused and the running certificate stays.
    p.cert.write_text("not a certificate")
    p.wait_for(lambda l: l.get("message", "").startswith("TLS certificate reload failed"), timeout=10)
    assert peer_certificate(p.https_port)[0] == second
    # A client that never finishes its handshake is dropped like any slow request.
    with socket.create_connection(("127.0.0.1", p.https_port), timeout=5) as raw:
        raw.sendall(b"\x16\x03\x01")  # the start of a ClientHello, then silence
        raw.settimeout(60)
        assert raw.recv(100) == b""


def test_require_https_redirects_plain_http_except_health_from_trusted_proxies(nsl_factory, tmp_path):
    p = https_server(nsl_factory, tmp_path, env={"Security__RequireHttps": "true", "Server__TrustedProxies": "127.0.0.1",
                                                "Server__RequestHeadersTimeoutSeconds": "2"})
    r = requests.post(p.url + "/v1/keys?x=1", json={"name": "k"}, headers=p.admin, allow_redirects=False, timeout=10)
    assert r.status_code == 308
    assert r.headers["Location"] == f"https://127.0.0.1:{p.https_port}/v1/keys?x=1"
    assert p.get("/health/live").status_code == 200  # a probe from a trusted address
    # Following the redirect works (and keeps the method).
    r = requests.post(p.url + "/v1/keys", json={"name": "k", "kind": "secp256r1"}, headers=p.admin, verify=str(p.cert), timeout=10)
    assert r.status_code == 201 and r.url.startswith("https://")
    # Behind a trusted proxy that terminated TLS, no redirect.
    r = requests.get(p.url + "/v1/auth/me", headers={**p.admin, "X-Forwarded-Proto": "https"}, allow_redirects=False, timeout=10)
    assert r.status_code == 200


def test_health_from_an_untrusted_peer_is_redirected_too(nsl_factory, tmp_path):
    p = https_server(nsl_factory, tmp_path, env={"Security__RequireHttps": "true"})
    r = p.get("/health/live", allow_redirects=False)
    assert r.status_code == 308 and r.headers["Location"].startswith("https://127.0.0.1:")
    r = requests.get(p.url + "/v1/auth/me", headers={**p.admin, "X-Forwarded-Proto": "https"}, allow_redirects=False, timeout=10)
    assert r.status_code == 308  # the header means nothing from an untrusted peer


def test_https_without_a_certificate_or_with_a_wrong_key_stops_startup(nsl_factory, tmp_path):
    p = nsl_factory(args=["serve", "--urls", "https://127.0.0.1:0"])
    code, _, err = p.run_to_end()
    assert code == 2 and "set Server:Certificate:Path and Server:Certificate:KeyPath" in err
    cert, _ = make_certificate(tmp_path, "a", "a")
    _, other_key = make_certificate(tmp_path, "b", "b")
    p = nsl_factory(args=["serve", "--urls", "https://127.0.0.1:0"],
                    env={"Server__Certificate__Path": str(cert), "Server__Certificate__KeyPath": str(other_key)})
    code, _, err = p.run_to_end()
    assert code == 2 and "the key does not belong to the certificate" in err, err
