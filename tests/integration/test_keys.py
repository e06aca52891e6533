"""The Key Management service over real HTTP: keys held by the enclave, their addresses and
signatures checked by independent code (neon-core, ethers, Python's cryptography), tenant
isolation, rotation, disabling, deletion and admin import."""
import hashlib
import json
import subprocess
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from test_identity import admin_key, post, sign

# Every test here runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.usefixtures("backend")

JS = Path(__file__).resolve().parents[1] / "js"


def check(chain, public_key, message, signature):
    data = json.dumps({"chain": chain, "public_key": public_key, "message": message, "signature": signature})
    return json.loads(subprocess.run(["node", str(JS / "check_keys.js"), data], capture_output=True, text=True,
                                     check=True, cwd=JS).stdout)


@pytest.fixture
def server(nsl_factory):
    p = nsl_factory(env={"RateLimiting__PermitLimit": "100000"})
    p.args = ["migrate"]
    assert p.run_to_end()[0] == 0
    key = admin_key(p)
    p.args = ["serve", "--urls", "http://127.0.0.1:0"]
    p.start()
    p.admin = {"X-API-Key": key}
    return p


def wallet_user(p):
    w = sign("neo-x", "warm-up")
    ch = post(p, "/v1/auth/wallet/challenge", {"chain": "neo-x", "address": w["address"]}).json()
    s = sign("neo-x", ch["message"], w["private_key"])
    token = post(p, "/v1/auth/wallet/sign-in", {"nonce": ch["nonce"], "signature": s["signature"]}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def api(p, method, path, headers, body=None):
    return requests.request(method, p.url + path, json=body, headers=headers, timeout=10)


def test_neo_n3_keys_give_neon_core_addresses_and_signatures(server):
    k = api(server, "POST", "/v1/keys", server.admin, {"name": "oracle-signer", "kind": "secp256r1"})
    assert k.status_code == 201, k.text
    key = k.json()
    assert key["version"] == 1 and key["status"] == "active" and "private" not in json.dumps(key)
    message = "neo n3 message ✓"
    s = api(server, "POST", f"/v1/keys/{key['id']}/sign-message", server.admin, {"message": message}).json()
    independent = check("neo-n3", key["public_key"], message, s["signature"])
    assert independent["address"] == key["addresses"]["neo_n3"]["address"]
    assert independent["valid"] is True
    # A raw digest signature, checked with Python's cryptography.
    digest = hashlib.sha256(b"digest me").digest()
    s = api(server, "POST", f"/v1/keys/{key['id']}/sign", server.admin, {"digest": digest.hex()}).json()
    sig = bytes.fromhex(s["signature"])
    pub = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), bytes.fromhex(key["public_key"]))
    pub.verify(utils.encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")), digest,
               ec.ECDSA(utils.Prehashed(hashes.SHA256())))
    v = api(server, "POST", f"/v1/keys/{key['id']}/verify", server.admin, {"digest": digest.hex(), "signature": s["signature"]})
    assert v.json() == {"valid": True}
    v = api(server, "POST", f"/v1/keys/{key['id']}/verify", server.admin, {"digest": "00" * 32, "signature": s["signature"]})
    assert v.json() == {"valid": False}


def test_neo_x_keys_give_ethers_addresses_and_eip191_signatures(server):
    key = api(server, "POST", "/v1/keys", server.admin, {"name": "evm", "kind": "secp256k1"}).json()
    message = "hello from the enclave"
    s = api(server, "POST", f"/v1/keys/{key['id']}/sign-message", server.admin, {"message": message}).json()
    independent = check("neo-x", key["public_key"], message, s["signature_rsv"])
    assert independent["address"] == key["addresses"]["neo_x"]["address"]
    assert independent["valid"] is True, independent


def test_ed25519_keys_sign_messages(server):
    key = api(server, "POST", "/v1/keys", server.admin, {"name": "ed", "kind": "ed25519"}).json()
    s = api(server, "POST", f"/v1/keys/{key['id']}/sign-message", server.admin, {"message": "plain"}).json()
    Ed25519PublicKey.from_public_bytes(bytes.fromhex(key["public_key"])).verify(bytes.fromhex(s["signature"]), b"plain")


def test_rotation_disabling_and_deletion(server):
    key = api(server, "POST", "/v1/keys", server.admin, {"name": "rot", "kind": "secp256k1"}).json()
    rotated = api(server, "POST", f"/v1/keys/{key['id']}/rotate", server.admin).json()
    assert rotated["id"] == key["id"] and rotated["version"] == 2 and rotated["public_key"] != key["public_key"]
    s = api(server, "POST", f"/v1/keys/{key['id']}/sign-message", server.admin, {"message": "m"}).json()
    assert check("neo-x", rotated["public_key"], "m", s["signature_rsv"])["valid"] is True
    assert [k["version"] for k in api(server, "GET", "/v1/keys", server.admin).json()["keys"] if k["id"] == key["id"]] == [2]
    assert api(server, "POST", f"/v1/keys/{key['id']}/disable", server.admin).json()["status"] == "disabled"
    r = api(server, "POST", f"/v1/keys/{key['id']}/sign-message", server.admin, {"message": "m"})
    assert r.status_code == 409
    assert api(server, "DELETE", f"/v1/keys/{key['id']}", server.admin).status_code == 204
    assert api(server, "GET", f"/v1/keys/{key['id']}", server.admin).status_code == 404


def test_keys_are_isolated_per_account_and_named_once(server):
    key = api(server, "POST", "/v1/keys", server.admin, {"name": "mine", "kind": "secp256r1"}).json()
    dup = api(server, "POST", "/v1/keys", server.admin, {"name": "mine", "kind": "secp256r1"})
    assert dup.status_code == 409 and dup.json()["errors"][0]["field"] == "name"
    user = wallet_user(server)
    assert api(server, "GET", "/v1/keys", user).json()["keys"] == []
    for method, path, body in (("GET", f"/v1/keys/{key['id']}", None),
                               ("POST", f"/v1/keys/{key['id']}/sign", {"digest": "00" * 32}),
                               ("POST", f"/v1/keys/{key['id']}/sign-message", {"message": "x"}),
                               ("POST", f"/v1/keys/{key['id']}/verify", {"digest": "00" * 32, "signature": "00" * 64}),
                               ("POST", f"/v1/keys/{key['id']}/rotate", None),
                               ("POST", f"/v1/keys/{key['id']}/disable", None),
                               ("DELETE", f"/v1/keys/{key['id']}", None)):
        r = api(server, method, path, user, body)
        assert r.status_code == 404, (method, path, r.status_code)
    # The user's own key works, and its import needs an admin.
    mine = api(server, "POST", "/v1/keys", user, {"name": "mine", "kind": "secp256k1"})
    assert mine.status_code == 201
    r = api(server, "POST", "/v1/keys/import", user, {"name": "x", "kind": "secp256k1", "private_key": "11" * 32})
    assert r.status_code == 403


def test_an_admin_imports_an_existing_key(server):
    wif = "KxyjQ8eUa4FHt3Gvioyt1Wz29cTUrE4eTqX3yFSk1YFCsPL8uNsY"  # the privnet validator key
    r = api(server, "POST", "/v1/keys/import", server.admin, {"name": "validator", "kind": "secp256r1", "private_key": wif})
    assert r.status_code == 201, r.text
    assert r.json()["addresses"]["neo_n3"]["address"] == "Nhfg3TbpwogLvDGVvAvqyThbsHgoSUKwtn"
    hardhat = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
    r = api(server, "POST", "/v1/keys/import", server.admin, {"name": "evm-0", "kind": "secp256k1", "private_key": hardhat})
    assert r.json()["addresses"]["neo_x"]["address"] == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    bad = api(server, "POST", "/v1/keys/import", server.admin, {"name": "z", "kind": "secp256k1", "private_key": "00" * 32})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "private_key"
    # The imported key is stored sealed: neither it nor the WIF is in the database.
    db = server.store.raw_bytes()
    assert hardhat.encode() not in db and bytes.fromhex(hardhat) not in db and wif.encode() not in db


@pytest.mark.parametrize("body,field", [({"kind": "secp256r1"}, "name"), ({"name": "a b", "kind": "secp256r1"}, "name"),
                                        ({"name": "a"}, "kind"), ({"name": "a", "kind": "rsa"}, "kind")])
def test_bad_key_requests_are_400_naming_the_field(server, body, field):
    r = api(server, "POST", "/v1/keys", server.admin, body)
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == field


def test_every_key_still_signs_after_the_enclave_is_killed(server):
    import os
    import time
    from test_enclave import enclave_pid
    keys = [api(server, "POST", "/v1/keys", server.admin, {"name": f"k{kind}", "kind": kind}).json()
            for kind in ("secp256r1", "secp256k1", "ed25519")]
    first = enclave_pid(server)
    os.kill(first, 9)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            if enclave_pid(server) != first and server.get("/health").json()["checks"]["enclave"]["status"] == "Healthy":
                break
        except AssertionError:
            pass
        time.sleep(0.05)
    for key in keys:
        r = api(server, "POST", f"/v1/keys/{key['id']}/sign-message", server.admin, {"message": "after"})
        assert r.status_code == 200, r.text
    s = api(server, "POST", f"/v1/keys/{keys[1]['id']}/sign-message", server.admin, {"message": "after"}).json()
    assert check("neo-x", keys[1]["public_key"], "after", s["signature_rsv"])["valid"] is True
