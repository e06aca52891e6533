"""Redis behind the real server: rate-limit budgets shared by replicas, and a server that keeps
serving, reports the cache degraded, and recovers when Redis stops and starts."""
import os
import subprocess
import time
import uuid

import pytest
import requests

from test_data_layer import started

REDIS = os.environ.get("NSL_TEST_REDIS")
pytestmark = pytest.mark.skipif(not REDIS, reason="NSL_TEST_REDIS is not set: scripts/test.sh starts redis-server")


def redis_env(tmp_path, **extra):
    return {"ConnectionStrings__Redis": f"{REDIS},prefix=t{uuid.uuid4().hex[:12]}:",
            "Database__SqlitePath": str(tmp_path / "shared.db"),
            "Enclave__SealingKeyPath": str(tmp_path / "root"), **extra}


def cache_check(p):
    return p.get("/health").json()["checks"]["cache"]


def test_replicas_draw_on_one_rate_limit_budget(nsl_factory, tmp_path):
    env = redis_env(tmp_path, RateLimiting__PermitLimit="6", RateLimiting__Window="00:01:00",
                    RateLimiting__QueueLimit="0")
    a = started(nsl_factory, env=env)
    b = nsl_factory(env=env).start()
    assert cache_check(a)["status"] == "Healthy" and "redis://" in cache_check(a)["description"]
    codes = []
    for i in range(8):
        p = a if i % 2 == 0 else b
        codes.append(requests.get(p.url + "/v1/auth/me", headers=a.admin, timeout=10).status_code)
    # Six permits in all, whichever replica answers: per-process counting would allow all eight.
    assert codes[:6] == [200] * 6 and codes[6:] == [429, 429], codes
    r = requests.get(b.url + "/v1/auth/me", headers=a.admin, timeout=10)
    assert r.status_code == 429 and r.headers["X-RateLimit-Remaining"] == "0" and int(r.headers["Retry-After"]) > 0


def test_the_server_keeps_serving_while_redis_is_down_and_the_cache_comes_back(nsl_factory, tmp_path):
    script, redis_dir = os.environ["NSL_TEST_REDIS_SCRIPT"], os.environ["NSL_TEST_REDIS_DIR"]
    p = started(nsl_factory, env=redis_env(tmp_path))
    assert cache_check(p)["status"] == "Healthy"
    subprocess.run([script, "stop", redis_dir], check=True)
    try:
        deadline = time.monotonic() + 10
        while cache_check(p)["status"] != "Degraded" and time.monotonic() < deadline:
            time.sleep(0.1)
        check = cache_check(p)
        assert check["status"] == "Degraded" and "serving from the database" in check["description"]
        ready = p.get("/health/ready")
        assert ready.status_code == 200 and ready.json()["status"] == "Degraded"
        # Requests keep succeeding, rate limited in process.
        for _ in range(5):
            r = requests.get(p.url + "/v1/auth/me", headers=p.admin, timeout=10)
            assert r.status_code == 200 and "X-RateLimit-Limit" in r.headers
        r = requests.post(p.url + "/v1/secrets", json={"name": "during-outage", "value": "v"}, headers=p.admin, timeout=10)
        assert r.status_code == 201, r.text
    finally:
        subprocess.run([script, "start", redis_dir], check=True, capture_output=True)
    deadline = time.monotonic() + 15
    while cache_check(p)["status"] != "Healthy" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert cache_check(p)["status"] == "Healthy"
    assert p.get("/health/ready").json()["status"] == "Healthy"
    metrics = p.get("/metrics").text
    assert 'nsl_cache_redis_up{connection="commands"} 1' in metrics
    assert "nsl_cache_redis_reconnects_total" in metrics


def test_a_bad_redis_connection_string_is_refused_at_startup(nsl_factory):
    p = nsl_factory(args=["serve", "--urls", "http://127.0.0.1:0"],
                    env={"ConnectionStrings__Redis": "127.0.0.1:6379,ssl=true"})
    code, _, err = p.run_to_end(timeout=30)
    assert code == 2 and "ConnectionStrings:Redis" in err and "ssl=true" in err


def test_a_key_disabled_or_deleted_on_one_replica_signs_on_none(nsl_factory, tmp_path):
    env = redis_env(tmp_path, RateLimiting__PermitLimit="100000")
    a = started(nsl_factory, env=env)
    b = nsl_factory(env=env).start()
    digest = {"digest": "11" * 32}

    def sign(p, key_id):
        return requests.post(f"{p.url}/v1/keys/{key_id}/sign", json=digest, headers=a.admin, timeout=10).status_code

    for action in ("disable", "delete", "rotate"):
        key = requests.post(a.url + "/v1/keys", json={"name": f"k-{action}", "kind": "secp256r1"}, headers=a.admin,
                            timeout=10).json()
        # Both replicas have the key record cached now.
        for _ in range(3):
            assert sign(a, key["id"]) == 200 and sign(b, key["id"]) == 200
        if action == "disable":
            assert requests.post(f"{a.url}/v1/keys/{key['id']}/disable", headers=a.admin, timeout=10).status_code == 200
            assert sign(b, key["id"]) == 409 and sign(a, key["id"]) == 409
        elif action == "delete":
            assert requests.delete(f"{a.url}/v1/keys/{key['id']}", headers=a.admin, timeout=10).status_code == 204
            assert sign(b, key["id"]) == 404 and sign(a, key["id"]) == 404
        else:
            rotated = requests.post(f"{a.url}/v1/keys/{key['id']}/rotate", headers=a.admin, timeout=10).json()
            # The other replica signs with the new version at once.
            r = requests.post(f"{b.url}/v1/keys/{key['id']}/sign", json=digest, headers=a.admin, timeout=10).json()
            check = requests.post(f"{a.url}/v1/keys/{key['id']}/verify", json={**digest, "signature": r["signature"]},
                                  headers=a.admin, timeout=10).json()
            assert rotated["version"] == 2 and check == {"valid": True}
            b_view = requests.get(f"{b.url}/v1/keys/{key['id']}", headers=a.admin, timeout=10).json()
            assert b_view["version"] == 2 and b_view["public_key"] == rotated["public_key"]
