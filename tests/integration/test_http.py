"""The HTTP pipeline of the real binary: routing errors, limits, ids, security headers, keep-alive."""
import json
import socket
import time
import uuid

import requests

PROBLEM_PREFIX = "https://neo-service-layer.dev/problems/"


def raw_exchange(port, payload: bytes, read_timeout=5.0) -> bytes:
    """Sends raw bytes and returns everything the server answers until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as s:
        s.sendall(payload)
        chunks = []
        while True:
            try:
                data = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)


def parse_raw_response(raw: bytes):
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
    return status, headers, body


def assert_problem(resp, status, kind):
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"] == "application/problem+json"
    body = resp.json()
    assert body["type"] == PROBLEM_PREFIX + kind
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    assert body["request_id"] == resp.headers["X-Request-Id"]
    return body


def test_unknown_route_is_404_problem(nsl):
    body = assert_problem(nsl.get("/v1/nothing/here"), 404, "not-found")
    assert body["instance"] == "/v1/nothing/here"


def test_wrong_method_is_405_with_allow(nsl):
    resp = requests.post(nsl.url + "/health/live", data="x", timeout=5)
    assert_problem(resp, 405, "method-not-allowed")
    assert resp.headers["Allow"] == "GET, HEAD"
    resp = requests.delete(nsl.url + "/metrics", timeout=5)
    assert resp.status_code == 405 and resp.headers["Allow"] == "GET, HEAD"


def test_head_on_health(nsl):
    resp = requests.head(nsl.url + "/health/live", timeout=5)
    assert resp.status_code == 200
    assert resp.content == b""
    assert int(resp.headers["Content-Length"]) == len(nsl.get("/health/live").content)


def test_malformed_http_is_400_problem_and_closes(nsl):
    raw = raw_exchange(nsl.port, b"GET /health/live HTTP/1.1\r\nHost x\r\n\r\n")
    status, headers, body = parse_raw_response(raw)
    assert status == 400
    assert headers["content-type"] == "application/problem+json"
    assert headers["connection"] == "close"
    assert json.loads(body)["type"] == PROBLEM_PREFIX + "bad-request"


def test_bad_percent_escape_is_400(nsl):
    raw = raw_exchange(nsl.port, b"GET /v1/keys/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    status, _, body = parse_raw_response(raw)
    assert status == 400
    assert "percent-escape" in json.loads(body)["detail"]


def test_oversized_body_is_413(nsl_factory):
    nsl = nsl_factory(config={"Server": {"MaxRequestBodySize": 4096}}).start()
    resp = requests.post(nsl.url + "/health/live", data=b"x" * 100_000, timeout=10)
    assert_problem(resp, 413, "payload-too-large")
    # The declared length alone is enough to refuse it, before any body byte is read.
    raw = raw_exchange(nsl.port, b"POST /health/live HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n")
    status, headers, _ = parse_raw_response(raw)
    assert status == 413 and headers["connection"] == "close"
    # A body within the limit is read and the request routed (here: wrong method).
    assert requests.post(nsl.url + "/health/live", data=b"x" * 4000, timeout=10).status_code == 405


def test_oversized_headers_are_431(nsl_factory):
    nsl = nsl_factory(config={"Server": {"MaxRequestHeadersSize": 2048}}).start()
    resp = requests.get(nsl.url + "/health/live", headers={"X-Big": "a" * 5000}, timeout=5)
    assert_problem(resp, 431, "headers-too-large")


def test_slow_headers_get_408(nsl_factory):
    nsl = nsl_factory(config={"Server": {"RequestHeadersTimeoutSeconds": 1}}).start()
    started = time.monotonic()
    raw = raw_exchange(nsl.port, b"GET /health/live HTTP/1.1\r\nHost: x\r\n", read_timeout=10)
    assert time.monotonic() - started < 5
    status, headers, body = parse_raw_response(raw)
    assert status == 408
    assert json.loads(body)["type"] == PROBLEM_PREFIX + "request-timeout"


def test_idle_keep_alive_connections_are_closed_after_the_timeout(nsl_factory):
    nsl = nsl_factory(config={"Server": {"KeepAliveTimeoutSeconds": 1}}).start()
    with socket.create_connection(("127.0.0.1", nsl.port), timeout=10) as s:
        s.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        first = s.recv(65536)
        assert first.startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        assert s.recv(65536) == b""  # closed by the server, not by us
        assert 0.5 < time.monotonic() - started < 5


def test_keep_alive_reuses_one_connection(nsl):
    with requests.Session() as session:
        for _ in range(20):
            resp = session.get(nsl.url + "/health/live", timeout=5)
            assert resp.status_code == 200
    metrics = nsl.get("/metrics").text
    assert 'api_active_connections{service="nsl"}' in metrics


def test_request_and_correlation_ids(nsl):
    resp = nsl.get("/health/live", headers={"X-Request-Id": "client-req-42", "X-Correlation-Id": "flow-7"})
    assert resp.headers["X-Request-Id"] == "client-req-42"
    assert resp.headers["X-Correlation-Id"] == "flow-7"
    # Generated when absent; the correlation id defaults to the request id.
    resp = nsl.get("/health/live")
    rid = resp.headers["X-Request-Id"]
    assert len(rid) == 36 and rid.count("-") == 4
    assert resp.headers["X-Correlation-Id"] == rid
    # Generated ids are RFC 9562 version 7: they carry the time (so they index in order) and are
    # otherwise random.
    u = uuid.UUID(rid)
    assert u.version == 7 and u.variant == uuid.RFC_4122
    assert abs(int(rid.replace("-", "")[:12], 16) / 1000 - time.time()) < 60
    later = nsl.get("/health/live").headers["X-Request-Id"]
    assert later != rid and later[:13] >= rid[:13]
    # A hostile id is not echoed: it is replaced.
    resp = nsl.get("/health/live", headers={"X-Request-Id": "a" * 300})
    assert resp.headers["X-Request-Id"] != "a" * 300
    # And the error body quotes the same id as the header.
    resp = nsl.get("/nope", headers={"X-Request-Id": "trace-me"})
    assert resp.json()["request_id"] == "trace-me"


def test_security_headers_of_the_guide(nsl):
    for path in ("/health/live", "/nope"):
        h = nsl.get(path).headers
        assert h["X-Content-Type-Options"] == "nosniff"
        assert h["X-Frame-Options"] == "DENY"
        assert h["X-XSS-Protection"] == "1; mode=block"
        assert h["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert h["Content-Security-Policy"].startswith("default-src 'self'; script-src 'self';")
        assert "Strict-Transport-Security" not in h  # plain HTTP from an untrusted peer
    # An untrusted peer cannot ask for HSTS by claiming HTTPS.
    assert "Strict-Transport-Security" not in nsl.get("/health/live", headers={"X-Forwarded-Proto": "https"}).headers


def test_hsts_behind_a_trusted_proxy(nsl_factory):
    nsl = nsl_factory(config={"Server": {"TrustedProxies": ["127.0.0.1"]}}).start()
    h = nsl.get("/health/live", headers={"X-Forwarded-Proto": "https"}).headers
    assert h["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert "Strict-Transport-Security" not in nsl.get("/health/live", headers={"X-Forwarded-Proto": "http"}).headers


def test_access_log_has_one_structured_line_per_request(nsl):
    nsl.get("/health/live", headers={"X-Request-Id": "log-me-1", "X-Correlation-Id": "corr-1"})
    nsl.get("/does/not/exist", headers={"X-Request-Id": "log-me-2"})
    line = nsl.wait_for(lambda l: l.get("request_id") == "log-me-1")
    assert line["category"] == "http.access"
    assert line["level"] == "INFO"
    assert line["method"] == "GET"
    assert line["path"] == "/health/live"
    assert line["status"] == 200
    assert line["service"] == "health"
    assert line["correlation_id"] == "corr-1"
    assert line["remote_ip"] == "127.0.0.1"
    assert isinstance(line["duration_ms"], (int, float)) and line["duration_ms"] >= 0
    assert line["@timestamp"].endswith("Z")
    miss = nsl.wait_for(lambda l: l.get("request_id") == "log-me-2")
    assert miss["status"] == 404 and miss["service"] == "unknown"
    assert len([l for l in nsl.logs() if l.get("request_id") == "log-me-1"]) == 1


def test_query_string_is_not_logged(nsl):
    nsl.get("/health/live?token=should-not-appear", headers={"X-Request-Id": "q-1"})
    line = nsl.wait_for(lambda l: l.get("request_id") == "q-1")
    assert line["path"] == "/health/live"
    assert all("should-not-appear" not in json.dumps(l) for l in nsl.logs())
