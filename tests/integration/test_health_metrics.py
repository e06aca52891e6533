"""Health endpoints (guide §10.1.2) and Prometheus metrics (guide §11, Appendix B.1)."""
import requests
from prometheus_client.parser import text_string_to_metric_families


def families(text):
    """Parses the exposition with the Prometheus project's own Python parser."""
    return {f.name: f for f in text_string_to_metric_families(text)}


def sample(fams, family, name, **labels):
    for s in fams[family].samples:
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    raise KeyError(f"{name}{labels} not in {[(s.name, s.labels) for s in fams[family].samples]}")


def test_liveness(nsl):
    resp = nsl.get("/health/live")
    assert resp.status_code == 200
    assert resp.json() == {"status": "Healthy"}


def test_readiness_checks_the_database(nsl):
    resp = nsl.get("/health/ready")
    assert resp.status_code == 200
    assert resp.json() == {"status": "Healthy", "failing": []}


def test_full_health_report(nsl):
    resp = nsl.get("/health")
    assert resp.status_code == 200
    report = resp.json()
    assert report["status"] == "Healthy"
    db = report["checks"]["database"]
    assert db["status"] == "Healthy"
    assert db["description"] == "sqlite:data/nsl.db"
    assert db["duration_ms"] >= 0
    assert report["version"]
    assert report["environment"] == "Production"
    assert report["uptime_seconds"] >= 0


def test_health_and_metrics_need_no_credentials(nsl):
    for path in ("/health", "/health/live", "/health/ready", "/metrics"):
        assert nsl.get(path).status_code == 200, path


def test_metrics_names_and_labels_match_the_guides_queries(nsl):
    for _ in range(3):
        nsl.get("/health/live")
    nsl.get("/nope")
    requests.post(nsl.url + "/health", timeout=5)
    resp = nsl.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    fams = families(resp.text)
    # http_requests_total{service,method,status}: the alert rule's `status=~"5.."` and `by (service)` work.
    assert fams["http_requests"].type == "counter"
    assert sample(fams, "http_requests", "http_requests_total", service="health", method="GET", status="200") >= 3
    assert sample(fams, "http_requests", "http_requests_total", service="unknown", method="GET", status="404") == 1
    assert sample(fams, "http_requests", "http_requests_total", service="unknown", method="POST", status="405") == 1
    # http_request_duration_seconds histogram by (service, le) for histogram_quantile().
    assert fams["http_request_duration_seconds"].type == "histogram"
    buckets = [s for s in fams["http_request_duration_seconds"].samples
               if s.name == "http_request_duration_seconds_bucket" and s.labels["service"] == "health"]
    assert buckets[-1].labels["le"] == "+Inf"
    values = [s.value for s in buckets]
    assert values == sorted(values)
    count = sample(fams, "http_request_duration_seconds", "http_request_duration_seconds_count", service="health")
    assert values[-1] == count >= 3
    # api_active_connections by (service): this very scrape holds one connection open.
    assert sample(fams, "api_active_connections", "api_active_connections", service="nsl") >= 1
    # Process metrics.
    assert sample(fams, "process_resident_memory_bytes", "process_resident_memory_bytes") > 1_000_000
    assert sample(fams, "process_cpu_seconds", "process_cpu_seconds_total") >= 0
    assert sample(fams, "process_open_fds", "process_open_fds") > 3
    assert sample(fams, "process_start_time_seconds", "process_start_time_seconds") > 1.7e9
    # Every queue: the database pool's.
    assert sample(fams, "nsl_threadpool_queue_depth", "nsl_threadpool_queue_depth", pool="db") == 0
    assert sample(fams, "nsl_build_info", "nsl_build_info") == 1


def test_metrics_on_a_separate_port(nsl_factory):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free_port = s.getsockname()[1]
    nsl = nsl_factory(config={"Metrics": {"Port": free_port}}).start()
    nsl.wait_for(lambda l: l.get("message", "").startswith("Metrics listening on"))
    nsl.get("/health/live")
    resp = requests.get(f"http://127.0.0.1:{free_port}/metrics", timeout=5)
    assert resp.status_code == 200
    fams = families(resp.text)
    assert sample(fams, "http_requests", "http_requests_total", service="health", method="GET", status="200") >= 1
    # The metrics port serves metrics only.
    assert requests.get(f"http://127.0.0.1:{free_port}/health/live", timeout=5).status_code == 404
    # And both listeners' connections are gauged by name.
    assert sample(fams, "api_active_connections", "api_active_connections", service="metrics") >= 1


def test_the_identity_mirror_reports_its_freshness(nsl_factory, backend):
    """Tokens are checked against an in-memory mirror of revocations, disabled accounts and role
    changes, loaded each second: its age, failed loads and sizes are metrics, and /health reports it
    degraded once no load has succeeded for five seconds (PostgreSQL stopped), healthy again when
    loads resume."""
    import os
    import subprocess
    import time
    from test_data_layer import started
    p = started(nsl_factory)
    # The first load starts with the server; on a busy machine it may not have finished yet.
    deadline = time.monotonic() + 10
    while "nsl_identity_sync_age_seconds " not in p.get("/metrics").text:
        assert time.monotonic() < deadline, "the mirror was never loaded"
        time.sleep(0.1)
    fams = families(p.get("/metrics").text)
    assert 0 <= sample(fams, "nsl_identity_sync_age_seconds", "nsl_identity_sync_age_seconds") < 3
    assert sample(fams, "nsl_identity_sync_failures", "nsl_identity_sync_failures_total") == 0
    assert sample(fams, "nsl_identity_mirrored_entries", "nsl_identity_mirrored_entries", kind="revoked_api_keys") == 0
    key = requests.post(p.url + "/v1/api-keys", json={"name": "k"}, headers=p.admin, timeout=10).json()
    assert requests.delete(p.url + f"/v1/api-keys/{key['id']}", headers=p.admin, timeout=10).status_code == 204
    fams = families(p.get("/metrics").text)
    assert sample(fams, "nsl_identity_mirrored_entries", "nsl_identity_mirrored_entries", kind="revoked_api_keys") == 1
    check = p.get("/health").json()["checks"]["identity"]
    assert check["status"] == "Healthy", check
    if backend != "postgres":
        return
    script, pg_dir = os.environ["NSL_TEST_PG_SCRIPT"], os.environ["NSL_TEST_PG_DIR"]
    subprocess.run([script, "stop", pg_dir], check=True)
    try:
        deadline = time.monotonic() + 15
        while p.get("/health").json()["checks"]["identity"]["status"] != "Degraded":
            assert time.monotonic() < deadline, p.get("/health").json()["checks"]["identity"]
            time.sleep(0.25)
        assert "have not been loaded for" in p.get("/health").json()["checks"]["identity"]["description"]
        # A load waits for the database (retrying), so it is the age that tells.
        fams = families(p.get("/metrics").text)
        assert sample(fams, "nsl_identity_sync_age_seconds", "nsl_identity_sync_age_seconds") > 5
    finally:
        subprocess.run([script, "start", pg_dir], check=True, capture_output=True)
    deadline = time.monotonic() + 30
    while p.get("/health").json()["checks"]["identity"]["status"] != "Healthy":
        assert time.monotonic() < deadline, p.get("/health").json()["checks"]["identity"]
        time.sleep(0.25)
