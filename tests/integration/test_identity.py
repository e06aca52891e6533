"""Identity over real HTTP against the real binary: API keys, tokens (ES256 signed by the enclave,
or HS256 with Jwt:Secret), refresh rotation, revocation, wallet sign-in with signatures made by
neon-core and ethers, tenant isolation, and the attacks on each."""
import base64
import hashlib
import hmac
import json
import subprocess
import time
from pathlib import Path

import pytest
import requests

from conftest import BINARY, NslProcess, at_once

# Every test here runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.usefixtures("backend")

JS = Path(__file__).resolve().parents[1] / "js"
SECRET = "a-test-secret-of-at-least-32-bytes!!"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint_hs256(secret: bytes, claims: dict, header=None) -> str:
    h = b64url(json.dumps(header or {"alg": "HS256", "typ": "JWT"}).encode())
    p = b64url(json.dumps(claims).encode())
    sig = hmac.new(secret, f"{h}.{p}".encode(), hashlib.sha256).digest()
    return f"{h}.{p}.{b64url(sig)}"


def admin_key(p, name="root"):
    """`nsl admin create` in the server's directory; returns the printed key."""
    out = subprocess.run([BINARY, "admin", "create", "--name", name], cwd=p.workdir, env=p.env, capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return next(l.split()[2] for l in out.stdout.splitlines() if l.startswith("api key"))


def sign(chain, message, key=None):
    args = ["node", str(JS / "sign_message.js"), chain, message] + ([key] if key else [])
    return json.loads(subprocess.run(args, capture_output=True, text=True, check=True, cwd=JS).stdout)


@pytest.fixture
def server(nsl_factory):
    p = nsl_factory()
    p.args = ["migrate"]
    assert p.run_to_end()[0] == 0
    key = admin_key(p)
    p.args = ["serve", "--urls", "http://127.0.0.1:0"]
    p.start()
    p.admin_key = key
    return p


def post(p, path, body=None, **kw):
    return requests.post(p.url + path, json=body, timeout=10, **kw)


def tokens_for(p, api_key):
    r = post(p, "/v1/auth/token", {"api_key": api_key})
    assert r.status_code == 200, r.text
    return r.json()


def me(p, **headers):
    return requests.get(p.url + "/v1/auth/me", headers=headers, timeout=10)


def test_every_non_public_route_needs_a_credential(server):
    for method, path in (("GET", "/v1/auth/me"), ("GET", "/v1/api-keys"), ("POST", "/v1/api-keys"),
                         ("DELETE", "/v1/api-keys/x"), ("POST", "/v1/auth/revoke")):
        r = requests.request(method, server.url + path, timeout=10)
        assert r.status_code == 401, (method, path, r.text)
        assert r.headers["WWW-Authenticate"] == "Bearer"
        assert r.headers["Content-Type"].startswith("application/problem+json")
    # Health, metrics and attestation stay open.
    assert server.get("/health").status_code == 200
    assert server.get("/metrics").status_code == 200


def test_api_key_and_token_identify_the_account(server):
    assert me(server, **{"X-API-Key": server.admin_key}).json()["role"] == "admin"
    t = tokens_for(server, server.admin_key)
    assert t["token_type"] == "Bearer"
    body = me(server, Authorization=f"Bearer {t['access_token']}").json()
    assert body["name"] == "root" and body["authenticated_by"] == "jwt" and body["permissions"] == ["*"]
    # ES256, verifiable with the published key.
    header = json.loads(base64.urlsafe_b64decode(t["access_token"].split(".")[0] + "=="))
    assert header["alg"] == "ES256"
    keys = server.get("/v1/auth/keys").json()
    assert keys["alg"] == "ES256" and len(keys["public_key"]) == 66


def test_forged_and_confused_tokens_are_refused(server):
    t = tokens_for(server, server.admin_key)["access_token"]
    h, p, s = t.split(".")
    claims = json.loads(base64.urlsafe_b64decode(p + "=="))
    # A changed payload (role raised) with the old signature.
    claims2 = dict(claims, name="someone-else")
    forged = f"{h}.{b64url(json.dumps(claims2).encode())}.{s}"
    assert me(server, Authorization=f"Bearer {forged}").status_code == 401
    # alg: none.
    none = f"{b64url(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{p}."
    r = me(server, Authorization=f"Bearer {none}")
    assert r.status_code == 401 and "not accepted" in r.json()["detail"]
    # HS256 signed with the ES256 public key (the classic confusion attack).
    public_key = server.get("/v1/auth/keys").json()["public_key"]
    for secret in (bytes.fromhex(public_key), public_key.encode()):
        confused = mint_hs256(secret, claims)
        r = me(server, Authorization=f"Bearer {confused}")
        assert r.status_code == 401 and "HS256" in r.json()["detail"]
    assert me(server, Authorization="Bearer not-a-token").status_code == 401
    assert me(server, Authorization=f"Basic {t}").status_code == 401
    assert me(server, **{"X-API-Key": "nsl_0000000000000000_" + "0" * 64}).status_code == 401
    assert me(server, **{"X-API-Key": server.admin_key[:-1] + ("0" if server.admin_key[-1] != "0" else "1")}).status_code == 401


def test_hs256_tokens_check_issuer_audience_and_time(nsl_factory):
    p = nsl_factory(env={"Jwt__Secret": SECRET, "Jwt__Audience": "nsl-tests"})
    p.args = ["migrate"]
    assert p.run_to_end()[0] == 0
    key = admin_key(p)
    p.args = ["serve", "--urls", "http://127.0.0.1:0"]
    p.start()
    t = tokens_for(p, key)["access_token"]
    claims = json.loads(base64.urlsafe_b64decode(t.split(".")[1] + "=="))
    assert json.loads(base64.urlsafe_b64decode(t.split(".")[0] + "=="))["alg"] == "HS256"
    now = int(time.time())
    good = mint_hs256(SECRET.encode(), dict(claims, iat=now, nbf=now, exp=now + 600, jti="t-good"))
    assert me(p, Authorization=f"Bearer {good}").status_code == 200  # the positive control
    cases = {
        "expired": dict(claims, iat=now - 7200, nbf=now - 7200, exp=now - 3600),
        "not valid yet": dict(claims, nbf=now + 3600, exp=now + 7200),
        "audience": dict(claims, aud="someone-else"),
        "issued by": dict(claims, iss="evil"),
    }
    for reason, c in cases.items():
        r = me(p, Authorization=f"Bearer {mint_hs256(SECRET.encode(), c)}")
        assert r.status_code == 401 and reason in r.json()["detail"], (reason, r.text)
    wrong_key = mint_hs256(b"another-secret-another-secret-another", claims)
    assert me(p, Authorization=f"Bearer {wrong_key}").status_code == 401
    assert p.get("/v1/auth/keys").status_code == 404  # a shared secret is never published


def test_refresh_rotates_and_a_replayed_refresh_token_revokes_the_family(server):
    first = tokens_for(server, server.admin_key)
    second = post(server, "/v1/auth/refresh", {"refresh_token": first["refresh_token"]}).json()
    assert second["refresh_token"] != first["refresh_token"]
    third = post(server, "/v1/auth/refresh", {"refresh_token": second["refresh_token"]}).json()
    # The first one again: stolen or replayed. It fails, and so does the newest of its family.
    replay = post(server, "/v1/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401 and "used before" in replay.json()["detail"]
    after = post(server, "/v1/auth/refresh", {"refresh_token": third["refresh_token"]})
    assert after.status_code == 401 and "revoked" in after.json()["detail"]
    assert post(server, "/v1/auth/refresh", {"refresh_token": "nslr_" + "0" * 64}).status_code == 401
    bad = post(server, "/v1/auth/refresh", {})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "refresh_token"


def test_concurrent_refreshes_with_one_token_are_a_replay(server):
    """Eight refreshes with one refresh token at once: one gets tokens, the others are a replay,
    and the family is revoked — the token the one was given included, whichever order the
    transactions met in."""
    for _ in range(3):
        first = tokens_for(server, server.admin_key)
        answers = at_once(server.url, [("POST", "/v1/auth/refresh", {}, {"refresh_token": first["refresh_token"]})
                                       for _ in range(8)])
        assert sorted(r.status_code for r in answers) == [200] + [401] * 7, [r.text for r in answers]
        assert all("used before" in r.json()["detail"] for r in answers if r.status_code == 401)
        given = next(r for r in answers if r.status_code == 200).json()
        after = post(server, "/v1/auth/refresh", {"refresh_token": given["refresh_token"]})
        assert after.status_code == 401 and "revoked" in after.json()["detail"], after.text


def test_a_role_change_applies_to_tokens_issued_before_it(server):
    """An admin demoted to user loses the admin permissions of the access and refresh tokens it
    already holds — on this replica at once, on another within a second — and keeps what a user
    may do; promoted back, the tokens it holds work as before. API keys follow the role too."""
    admin = {"X-API-Key": server.admin_key}
    made = post(server, "/v1/admin/accounts", {"name": "second-admin", "role": "admin"}, headers=admin)
    assert made.status_code == 201, made.text
    account, key = made.json()["account"], made.json()["api_key"]
    tokens = tokens_for(server, key)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    listing = lambda who, at=server: requests.get(at.url + "/v1/admin/accounts", headers=who, timeout=10).status_code
    assert listing(bearer) == 200 and listing({"X-API-Key": key}) == 200
    # A second replica on the same database has verified (and remembers) the token.
    other = NslProcess(server.workdir, env=server.env).start()
    try:
        assert listing(bearer, other) == 200
        demoted = post(server, f"/v1/admin/accounts/{account['id']}/role", {"role": "user"}, headers=admin)
        assert demoted.status_code == 200 and demoted.json()["role"] == "user"
        assert listing(bearer) == 403 and listing({"X-API-Key": key}) == 403
        # What a user may do, both still may.
        for who in (bearer, {"X-API-Key": key}):
            assert requests.get(server.url + "/v1/keys", headers=who, timeout=10).status_code == 200
        seen = me(server, **bearer)
        assert seen.status_code == 200 and seen.json()["role"] == "user", seen.text
        deadline = time.monotonic() + 5
        while listing(bearer, other) != 403:
            assert time.monotonic() < deadline, "the other replica still honours the admin token"
            time.sleep(0.1)
        # A refresh gives tokens of the role the account has now.
        refreshed = post(server, "/v1/auth/refresh", {"refresh_token": tokens["refresh_token"]}).json()
        again = {"Authorization": f"Bearer {refreshed['access_token']}"}
        assert listing(again) == 403 and "accounts:write" not in refreshed["scope"], refreshed["scope"]
        assert requests.get(server.url + "/v1/keys", headers=again, timeout=10).status_code == 200
        # Promoted back: the first access token works again; the narrowed refresh stays narrowed.
        assert post(server, f"/v1/admin/accounts/{account['id']}/role", {"role": "admin"}, headers=admin).status_code == 200
        assert listing(bearer) == 200 and listing(again) == 403
    finally:
        other.stop()


def test_a_revoked_api_key_takes_the_tokens_exchanged_for_it_along(server):
    """A leaked API key, exchanged for tokens before it was revoked: revoking it refuses those access
    tokens (here at once, on another replica within a second) and their refresh family; tokens of
    the account's other keys keep working. An admin revoking another account's key does the same."""
    admin = {"X-API-Key": server.admin_key}
    leaked = post(server, "/v1/api-keys", {"name": "leaked", "permissions": ["keys:read"]}, headers=admin).json()
    kept = post(server, "/v1/api-keys", {"name": "kept", "permissions": ["keys:read"]}, headers=admin).json()
    stolen, fine = tokens_for(server, leaked["api_key"]), tokens_for(server, kept["api_key"])
    claims = json.loads(base64.urlsafe_b64decode(stolen["access_token"].split(".")[1] + "=="))
    assert claims["akid"] == leaked["id"]
    # The thief refreshes once before the revocation: the new tokens descend from the key too.
    stolen = post(server, "/v1/auth/refresh", {"refresh_token": stolen["refresh_token"]}).json()
    keys = lambda t, at=server: requests.get(at.url + "/v1/keys", headers={"Authorization": f"Bearer {t['access_token']}"},
                                             timeout=10).status_code
    other = NslProcess(server.workdir, env=server.env).start()
    try:
        assert keys(stolen) == 200 and keys(stolen, other) == 200 and keys(fine) == 200
        assert requests.delete(server.url + f"/v1/api-keys/{leaked['id']}", headers=admin, timeout=10).status_code == 204
        assert keys(stolen) == 401 and keys(fine) == 200
        refreshed = post(server, "/v1/auth/refresh", {"refresh_token": stolen["refresh_token"]})
        assert refreshed.status_code == 401 and "revoked" in refreshed.json()["detail"], refreshed.text
        deadline = time.monotonic() + 5
        while keys(stolen, other) != 401:
            assert time.monotonic() < deadline, "the other replica still honours a token of the revoked key"
            time.sleep(0.1)
        assert keys(fine, other) == 200
        assert post(server, "/v1/auth/refresh", {"refresh_token": fine["refresh_token"]}).status_code == 200
        # An admin revoking another account's key.
        made = post(server, "/v1/admin/accounts", {"name": "svc", "role": "user"}, headers=admin).json()
        theirs = tokens_for(server, made["api_key"])
        key_id = requests.get(server.url + f"/v1/admin/accounts/{made['account']['id']}", headers=admin,
                              timeout=10).json()["api_keys"][0]["id"]
        assert keys(theirs) == 200
        assert requests.delete(server.url + f"/v1/admin/accounts/{made['account']['id']}/api-keys/{key_id}",
                               headers=admin, timeout=10).status_code == 204
        assert keys(theirs) == 401
        assert post(server, "/v1/auth/refresh", {"refresh_token": theirs["refresh_token"]}).status_code == 401
    finally:
        other.stop()


def test_an_account_holds_a_bounded_number_of_api_keys(nsl_factory):
    """Quotas:ApiKeysPerAccount counts keys not revoked, here and on the admin route."""
    from test_data_layer import started
    p = started(nsl_factory, env={"Quotas__ApiKeysPerAccount": "3"})
    admin = p.admin  # the first of three
    made = [post(p, "/v1/api-keys", {"name": f"k{i}"}, headers=admin) for i in range(3)]
    assert [r.status_code for r in made] == [201, 201, 409], [r.text for r in made]
    assert "Quotas:ApiKeysPerAccount" in made[2].json()["detail"]
    me = requests.get(p.url + "/v1/auth/me", headers=admin, timeout=10).json()["account_id"]
    over = post(p, f"/v1/admin/accounts/{me}/api-keys", {"name": "x"}, headers=admin)
    assert over.status_code == 409, over.text
    assert requests.delete(p.url + f"/v1/api-keys/{made[0].json()['id']}", headers=admin, timeout=10).status_code == 204
    assert post(p, "/v1/api-keys", {"name": "again"}, headers=admin).status_code == 201


def test_revoked_tokens_stop_working(server):
    t = tokens_for(server, server.admin_key)
    auth = {"Authorization": f"Bearer {t['access_token']}"}
    assert me(server, **auth).status_code == 200
    r = post(server, "/v1/auth/revoke", {"refresh_token": t["refresh_token"]}, headers=auth)
    assert r.status_code == 204
    r = me(server, **auth)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
    assert post(server, "/v1/auth/refresh", {"refresh_token": t["refresh_token"]}).status_code == 401


def test_revoke_refuses_an_empty_refresh_token_and_reads_null_as_none(server):
    # Schemathesis found "" accepted although the document asks for 1 to 200 characters.
    t = tokens_for(server, server.admin_key)
    auth = {"Authorization": f"Bearer {t['access_token']}"}
    r = post(server, "/v1/auth/revoke", {"refresh_token": ""}, headers=auth)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "refresh_token"
    assert me(server, **auth).status_code == 200  # a refused request revoked nothing
    assert post(server, "/v1/auth/revoke", {"refresh_token": None}, headers=auth).status_code == 204
    assert post(server, "/v1/auth/refresh", {"refresh_token": t["refresh_token"]}).status_code == 200


def test_name_limits_count_characters_as_the_document_does(server):
    admin = {"X-API-Key": server.admin_key}
    r = post(server, "/v1/admin/accounts", {"name": "é" * 100, "role": "user"}, headers=admin)
    assert r.status_code == 201, r.text
    r = post(server, "/v1/admin/accounts", {"name": "ü" * 101, "role": "user"}, headers=admin)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "name"


def wallet_sign_in(p, chain, wallet):
    """A challenge for the wallet's address, signed with its key by the independent library, sent to
    sign-in. Returns the answer and the body sent."""
    challenge = post(p, "/v1/auth/wallet/challenge", {"chain": chain, "address": wallet["address"]}).json()
    assert wallet["address"] in challenge["message"] and challenge["nonce"] in challenge["message"]
    signed = sign(chain, challenge["message"], wallet.get("wif") or wallet.get("private_key"))
    body = {"nonce": challenge["nonce"], "signature": signed["signature"]}
    if chain == "neo-n3":
        body["public_key"] = signed["public_key"]
    return post(p, "/v1/auth/wallet/sign-in", body), body


@pytest.mark.parametrize("chain", ["neo-n3", "neo-x"])
def test_wallet_sign_in_with_an_independent_wallet(server, chain):
    wallet = sign(chain, "warm-up")  # a fresh key and its address
    key = wallet.get("wif") or wallet.get("private_key")
    r, body = wallet_sign_in(server, chain, wallet)
    assert r.status_code == 200, r.text
    who = me(server, Authorization=f"Bearer {r.json()['access_token']}").json()
    assert who["name"] == wallet["address"] and who["role"] == "user"
    # The same nonce twice: refused.
    again = post(server, "/v1/auth/wallet/sign-in", body)
    assert again.status_code == 401 and "used" in again.json()["detail"]
    # Signing in again makes no second account.
    challenge2 = post(server, "/v1/auth/wallet/challenge", {"chain": chain, "address": wallet["address"]}).json()
    signed2 = sign(chain, challenge2["message"], key)
    body2 = {"nonce": challenge2["nonce"], "signature": signed2["signature"], "public_key": signed2.get("public_key")}
    who2 = me(server, Authorization=f"Bearer {post(server, '/v1/auth/wallet/sign-in', body2).json()['access_token']}").json()
    assert who2["account_id"] == who["account_id"]


@pytest.mark.parametrize("chain", ["neo-n3", "neo-x"])
def test_a_signature_from_another_address_is_refused(server, chain):
    victim = sign(chain, "warm-up")
    challenge = post(server, "/v1/auth/wallet/challenge", {"chain": chain, "address": victim["address"]}).json()
    attacker = sign(chain, challenge["message"])  # another key signs the victim's challenge
    body = {"nonce": challenge["nonce"], "signature": attacker["signature"]}
    if chain == "neo-n3":
        body["public_key"] = attacker["public_key"]
    r = post(server, "/v1/auth/wallet/sign-in", body)
    assert r.status_code == 401 and "signature" in r.json()["detail"]
    # And the nonce is spent: a second try with the right signature is refused too.
    right = sign(chain, challenge["message"], victim.get("wif") or victim.get("private_key"))
    body = {"nonce": challenge["nonce"], "signature": right["signature"], "public_key": right.get("public_key")}
    assert post(server, "/v1/auth/wallet/sign-in", body).status_code == 401


def test_bad_wallet_requests_are_400_naming_the_field(server):
    for body, field in (({"chain": "btc", "address": "x"}, "chain"), ({"chain": "neo-n3", "address": "0x12"}, "address"),
                        ({"chain": "neo-x", "address": "NXma7gfwhu9rma27pvhvmDL9gcQBtm1cR8"}, "address"),
                        ({"address": "x"}, "chain")):
        r = post(server, "/v1/auth/wallet/challenge", body)
        assert r.status_code == 400, r.text
        assert r.json()["errors"][0]["field"] == field


def test_api_keys_are_scoped_shown_once_and_isolated_per_account(server):
    admin = {"X-API-Key": server.admin_key}
    created = post(server, "/v1/api-keys", {"name": "ci", "permissions": ["storage:read"]}, headers=admin)
    assert created.status_code == 201, created.text
    key = created.json()["api_key"]
    listed = requests.get(server.url + "/v1/api-keys", headers=admin, timeout=10).json()["api_keys"]
    assert {k["name"] for k in listed} == {"initial", "ci"}
    assert key not in json.dumps(listed)  # shown once, never listed
    assert me(server, **{"X-API-Key": key}).json()["permissions"] == ["storage:read"]

    # A wallet user: its own keys only, and never more than it has.
    wallet = sign("neo-x", "warm-up")
    ch = post(server, "/v1/auth/wallet/challenge", {"chain": "neo-x", "address": wallet["address"]}).json()
    s = sign("neo-x", ch["message"], wallet["private_key"])
    user = {"Authorization": "Bearer " + post(server, "/v1/auth/wallet/sign-in", {"nonce": ch["nonce"], "signature": s["signature"]}).json()["access_token"]}
    too_much = post(server, "/v1/api-keys", {"name": "x", "permissions": ["audit:read"]}, headers=user)
    assert too_much.status_code == 403
    bad = post(server, "/v1/api-keys", {"name": "x", "permissions": ["not a permission"]}, headers=user)
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "permissions"
    assert requests.get(server.url + "/v1/api-keys", headers=user, timeout=10).json()["api_keys"] == []
    # The admin's key id is as unknown to the user as a missing one.
    ci_id = next(k["id"] for k in listed if k["name"] == "ci")
    assert requests.delete(server.url + f"/v1/api-keys/{ci_id}", headers=user, timeout=10).status_code == 404
    assert me(server, **{"X-API-Key": key}).status_code == 200
    # Its owner revokes it.
    assert requests.delete(server.url + f"/v1/api-keys/{ci_id}", headers=admin, timeout=10).status_code == 204
    r = me(server, **{"X-API-Key": key})
    assert r.status_code == 401 and "revoked" in r.json()["detail"]


def test_keys_are_stored_hashed(server):
    stored = [(r["hash"], r["lookup"]) for r in server.store.rows("SELECT hash, lookup FROM api_keys")]
    assert stored and all(server.admin_key not in h for h, _ in stored)
    assert hashlib.sha256(server.admin_key.encode()).hexdigest() in {h for h, _ in stored}


def test_admin_create_refuses_a_taken_name(server):
    out = subprocess.run([BINARY, "admin", "create", "--name", "root"], cwd=server.workdir, env=server.env,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0 and "exists already" in out.stderr


@pytest.mark.parametrize("chain", ["neo-n3", "neo-x"])
def test_a_wallet_address_is_no_account_name(server, chain):
    """Names of the form of an address belong to wallet sign-in: an account created by name under
    one would be the account its key holder signs in to, with that account's role and storage."""
    wallet = sign(chain, "warm-up")
    names = [wallet["address"]] + ([wallet["address"].lower(), "0X" + wallet["address"][2:]] if chain == "neo-x" else [])
    admin = {"X-API-Key": server.admin_key}
    for name in names:
        r = post(server, "/v1/admin/accounts", {"name": name, "role": "operator"}, headers=admin)
        assert r.status_code == 400 and r.json()["errors"][0]["field"] == "name", r.text
        out = subprocess.run([BINARY, "admin", "create", "--name", name, "--role", "operator"], cwd=server.workdir,
                             env=server.env, capture_output=True, text=True, timeout=30)
        assert out.returncode != 0 and "wallet address" in out.stderr, out.stderr
    assert server.store.rows("SELECT name FROM accounts WHERE kind = 'name' AND name <> 'root'") == []
    # Its key holder signs in to a user account of its own.
    tokens, _ = wallet_sign_in(server, chain, wallet)
    assert tokens.status_code == 200, tokens.text
    assert me(server, Authorization=f"Bearer {tokens.json()['access_token']}").json()["role"] == "user"


def limited_server(nsl_factory, permit, window="00:00:03", queue=0, order="OldestFirst", routes=None, env=None):
    p = nsl_factory(config={"RateLimiting": {"PermitLimit": permit, "Window": window, "QueueLimit": queue,
                                             "QueueProcessingOrder": order, **({"Routes": routes} if routes else {})}},
                    env=env)
    p.args = ["migrate"]
    assert p.run_to_end()[0] == 0
    key = admin_key(p)
    p.args = ["serve", "--urls", "http://127.0.0.1:0"]
    p.start()
    p.admin_key = key
    return p


def test_requests_beyond_the_limit_get_429_with_retry_after(nsl_factory):
    p = limited_server(nsl_factory, permit=5)
    headers = {"X-API-Key": p.admin_key}
    answers = [me(p, **headers) for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers[:5]] == ["4", "3", "2", "1", "0"]
    last = answers[-1]
    assert last.headers["X-RateLimit-Limit"] == "5"
    assert 1 <= int(last.headers["Retry-After"]) <= 3
    assert last.headers["Content-Type"].startswith("application/problem+json")
    # Health and metrics are exempt.
    assert all(p.get("/health/live").status_code == 200 for _ in range(20))
    # After the window, requests pass again.
    time.sleep(int(last.headers["Retry-After"]) + 0.2)
    assert me(p, **headers).status_code == 200


def test_api_key_guessing_runs_into_the_limit(nsl_factory):
    p = limited_server(nsl_factory, permit=10)
    codes = [me(p, **{"X-API-Key": f"nsl_{i:016x}_" + "0" * 64}).status_code for i in range(15)]
    assert codes[:10] == [401] * 10
    assert set(codes[10:]) == {429}
    # Token exchange guesses count too (the same address).
    assert post(p, "/v1/auth/token", {"api_key": "nsl_" + "1" * 16 + "_" + "0" * 64}).status_code == 429


def test_queued_requests_wait_for_the_next_window(nsl_factory):
    import concurrent.futures
    p = limited_server(nsl_factory, permit=3, window="00:00:02", queue=2)
    headers = {"X-API-Key": p.admin_key}
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: (me(p, **headers).status_code, time.monotonic() - started), range(6)))
    codes = sorted(c for c, _ in results)
    assert codes == [200] * 5 + [429]
    waited = sorted(t for c, t in results if c == 200)
    assert waited[-1] > 0.5  # two of them waited for the next window


def test_a_changed_limit_applies_without_a_restart(nsl_factory):
    p = limited_server(nsl_factory, permit=2, window="00:00:30")
    headers = {"X-API-Key": p.admin_key}
    assert [me(p, **headers).status_code for _ in range(3)] == [200, 200, 429]
    p.write_config({"RateLimiting": {"PermitLimit": 50, "Window": "00:00:30", "QueueLimit": 0}})
    p.wait_for(lambda l: l.get("message") == "configuration reloaded", timeout=10)
    assert me(p, **headers).status_code == 200


def test_routes_with_limits_of_their_own_count_in_budgets_of_their_own(nsl_factory):
    # A strict limit on token exchange from the file, a looser one on /v1/auth/me (any verb) from
    # the environment; everything else shares the general budget of 6.
    p = limited_server(nsl_factory, permit=6, window="00:00:30",
                       routes={"post /v1/auth/token": {"PermitLimit": 2}},
                       env={"RateLimiting__Routes__/v1/auth/me__PermitLimit": "8"})
    headers = {"X-API-Key": p.admin_key}
    tokens = [post(p, "/v1/auth/token", {"api_key": p.admin_key}) for _ in range(3)]
    assert [t.status_code for t in tokens] == [200, 200, 429]
    assert tokens[0].headers["X-RateLimit-Limit"] == "2" and tokens[2].headers["Retry-After"]
    mes = [me(p, **headers) for _ in range(9)]
    assert [m.status_code for m in mes] == [200] * 8 + [429]
    assert mes[0].headers["X-RateLimit-Limit"] == "8"
    # The general budget was untouched by both.
    others = [requests.get(p.url + "/v1/api-keys", headers=headers, timeout=10) for _ in range(7)]
    assert [o.status_code for o in others] == [200] * 6 + [429]
    assert others[0].headers["X-RateLimit-Limit"] == "6" and others[0].headers["X-RateLimit-Remaining"] == "5"
    shown = subprocess.run([BINARY, "config", "check"], cwd=p.workdir, env=p.env, capture_output=True, text=True, timeout=30)
    routes = json.loads(shown.stdout[:shown.stdout.rindex("}") + 1])["RateLimiting"]["Routes"]
    assert routes["POST /v1/auth/token"]["PermitLimit"] == 2 and routes["/v1/auth/me"]["Window"] == "00:00:30"


@pytest.mark.parametrize("routes,message", [
    ({"POST /v1/auth/tokens": {"PermitLimit": 2}}, "RateLimiting:Routes names routes this server does not have: POST /v1/auth/tokens"),
    ({"FETCH /v1/auth/token": {"PermitLimit": 2}}, "RateLimiting:Routes:FETCH /v1/auth/token: must name a route"),
    ({"POST /v1/auth/token": {"PermitLimit": 0}}, "RateLimiting:Routes:POST /v1/auth/token:PermitLimit: must be between 1"),
    ({"POST /v1/auth/token": {"Permits": 3}}, "RateLimiting:Routes:POST /v1/auth/token:Permits: unknown configuration key"),
])
def test_a_route_limit_that_names_no_route_or_is_invalid_stops_startup(nsl_factory, routes, message):
    p = nsl_factory(config={"RateLimiting": {"Routes": routes}}, args=["serve", "--urls", "http://127.0.0.1:0"])
    code, out, err = p.run_to_end()
    assert code == 2, (out, err)
    assert message in err, err


def test_a_revocation_reaches_every_replica(nsl_factory, tmp_path):
    """Two servers on one database and one enclave root: a token revoked at one is refused by the other."""
    db_path = str(tmp_path / "shared.db")
    root = str(tmp_path / "sealing-root")
    env = {"Database__SqlitePath": db_path, "Enclave__SealingKeyPath": root}
    a = nsl_factory(env=env)
    a.args = ["migrate"]
    assert a.run_to_end()[0] == 0
    key = admin_key(a)
    a.args = ["serve", "--urls", "http://127.0.0.1:0"]
    a.start()
    b = nsl_factory(env=env).start()
    t = tokens_for(a, key)
    auth = {"Authorization": f"Bearer {t['access_token']}"}
    assert me(b, **auth).status_code == 200  # B verifies A's token: the same enclave key
    assert post(a, "/v1/auth/revoke", {}, headers=auth).status_code == 204
    deadline = time.monotonic() + 5
    while me(b, **auth).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert me(b, **auth).status_code == 401
