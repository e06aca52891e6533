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

from conftest import at_once
from p256_verifiers import assert_low_s, split_neo_signed, verify_neo_transactions, verify_with_openssl
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
    verify_with_openssl(key["public_key"], bytes.fromhex(s["signature"]), message=message.encode())
    # A raw digest signature, checked with Python's cryptography and openssl.
    digest = hashlib.sha256(b"digest me").digest()
    s = api(server, "POST", f"/v1/keys/{key['id']}/sign", server.admin, {"digest": digest.hex()}).json()
    sig = bytes.fromhex(s["signature"])
    assert_low_s(sig)
    pub = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), bytes.fromhex(key["public_key"]))
    pub.verify(utils.encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")), digest,
               ec.ECDSA(utils.Prehashed(hashes.SHA256())))
    verify_with_openssl(key["public_key"], sig, digest=digest)
    v = api(server, "POST", f"/v1/keys/{key['id']}/verify", server.admin, {"digest": digest.hex(), "signature": s["signature"]})
    assert v.json() == {"valid": True}
    v = api(server, "POST", f"/v1/keys/{key['id']}/verify", server.admin, {"digest": "00" * 32, "signature": s["signature"]})
    assert v.json() == {"valid": False}
    # A message beside the digest is refused, not ignored (schemathesis found it ignored).
    r = api(server, "POST", f"/v1/keys/{key['id']}/sign", server.admin, {"digest": digest.hex(), "message": {}})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "message", r.text


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
    # Ed25519 signs the message itself: 40,000 characters of "é" are 80,000 bytes, past the
    # enclave's 64 KiB, and are refused with a 400 naming the field (a 500 once limits counted
    # characters).
    r = api(server, "POST", f"/v1/keys/{key['id']}/sign-message", server.admin, {"message": "é" * 40000})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "message", r.text
    long = "é" * 32768  # 64 KiB exactly
    s = api(server, "POST", f"/v1/keys/{key['id']}/sign-message", server.admin, {"message": long}).json()
    Ed25519PublicKey.from_public_bytes(bytes.fromhex(key["public_key"])).verify(bytes.fromhex(s["signature"]),
                                                                                  long.encode())
    # verify takes a digest or a message, not both.
    r = api(server, "POST", f"/v1/keys/{key['id']}/verify", server.admin,
            {"message": "plain", "digest": "00" * 32, "signature": s["signature"]})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "digest", r.text


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


def test_concurrent_creates_and_rotations_of_one_key(server):
    """Twelve creates of one name at once: one key, the others told the name is taken. Twelve
    rotations of one key at once: each stores a version of its own, only the newest is active, and
    it is the one that signs."""
    me = server.admin
    made = at_once(server.url, [("POST", "/v1/keys", me, {"name": "busy", "kind": "secp256k1"}) for _ in range(12)])
    assert sorted(r.status_code for r in made) == [201] + [409] * 11, [r.text for r in made]
    assert all(r.json()["errors"][0]["field"] == "name" for r in made if r.status_code == 409)
    key = next(r for r in made if r.status_code == 201).json()
    rotated = at_once(server.url, [("POST", f"/v1/keys/{key['id']}/rotate", me, None) for _ in range(12)])
    assert all(r.status_code == 200 for r in rotated), [r.text for r in rotated]
    assert sorted(r.json()["version"] for r in rotated) == list(range(2, 14))
    assert len({r.json()["public_key"] for r in rotated}) == 12
    newest = next(r.json() for r in rotated if r.json()["version"] == 13)
    rows = server.store.rows("SELECT version, status FROM keys WHERE id = ? ORDER BY version", (key["id"],))
    # The newest ten are kept (Quotas:KeyVersionsKept).
    assert [(r["version"], r["status"]) for r in rows] == [(v, "retired") for v in range(4, 13)] + [(13, "active")]
    s = api(server, "POST", f"/v1/keys/{key['id']}/sign-message", me, {"message": "m"}).json()
    assert check("neo-x", newest["public_key"], "m", s["signature_rsv"])["valid"] is True
    assert [k["version"] for k in api(server, "GET", "/v1/keys", me).json()["keys"] if k["id"] == key["id"]] == [13]


def test_a_rotation_racing_a_delete_does_not_bring_the_key_back(server):
    """A rotation and a delete at once end, in either order, with no key: a version stored while
    the delete waited is deleted too, and a rotation after the delete is a 404."""
    me = server.admin
    for i in range(40):
        key = api(server, "POST", "/v1/keys", me, {"name": f"gone-{i}", "kind": "secp256k1"}).json()
        rotate, delete = at_once(server.url, [("POST", f"/v1/keys/{key['id']}/rotate", me, None),
                                              ("DELETE", f"/v1/keys/{key['id']}", me, None)])
        assert rotate.status_code in (200, 404) and delete.status_code == 204, (rotate.text, delete.text)
        assert api(server, "GET", f"/v1/keys/{key['id']}", me).status_code == 404, (i, rotate.status_code)
    assert server.store.rows("SELECT id FROM keys WHERE name LIKE ?", ("gone-%",)) == []


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


# --- whole transactions ------------------------------------------------------------------------

VALIDATOR = "347bc2bd9eb7b9f41b217c3ac8ad4b2d4d2a5e4e5bb1ddb71cf2d9bca56e3436"  # docs/neo-protocol.md
HARDHAT = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
PRIVNET_MAGIC = 56753


def independent(request):
    return json.loads(subprocess.run(["node", str(JS / "sign_transactions.js"), json.dumps(request)],
                                     capture_output=True, text=True, check=True, cwd=JS, timeout=60).stdout)


def test_neo_n3_transactions_signed_through_the_api_match_neon_core(server):
    imported = api(server, "POST", "/v1/keys/import", server.admin,
                   {"name": "validator", "kind": "secp256r1", "private_key": VALIDATOR}).json()
    expected = independent({"op": "build", "neo": {"private_key": VALIDATOR, "magic": PRIVNET_MAGIC}})["neo"]
    r = api(server, "POST", f"/v1/keys/{imported['id']}/sign-transaction", server.admin,
            {"network": PRIVNET_MAGIC, "transaction": expected["unsigned"]})
    assert r.status_code == 200, r.text
    signed = r.json()
    # The nonce is random: the signed bytes are neon-core's but for the 64 bytes of the signature,
    # which neon-core, Python's cryptography and openssl verify.
    theirs = split_neo_signed(expected["unsigned"], expected["signed"])

    def like_neon(transaction):
        ours = split_neo_signed(expected["unsigned"], transaction)
        assert (ours[0], ours[2]) == (theirs[0], theirs[2]), (transaction, expected["signed"])
        verify_neo_transactions([(transaction, expected["unsigned"], expected["hash"], PRIVNET_MAGIC,
                                  imported["public_key"])])
        return ours[1]
    like_neon(signed["transaction"])
    assert signed["hash"] == "0x" + expected["hash"]
    assert signed["complete"] is True and signed["signer"] == imported["addresses"]["neo_n3"]["address"]
    # A transaction that carries a witness already gets it replaced, not duplicated.
    again = api(server, "POST", f"/v1/keys/{imported['id']}/sign-transaction", server.admin,
                {"network": PRIVNET_MAGIC, "transaction": expected["signed"]}).json()
    assert like_neon(again["transaction"]) != theirs[1]  # a fresh signature (its nonce is random)

    # A key only the enclave has ever held: neon-core verifies the witness for that network only.
    created = api(server, "POST", "/v1/keys", server.admin, {"name": "neo-fresh", "kind": "secp256r1"}).json()
    built = independent({"op": "build", "neo": {"address": created["addresses"]["neo_n3"]["address"],
                                                "magic": 860833102}})["neo"]
    unsigned = built["unsigned"]
    signed = api(server, "POST", f"/v1/keys/{created['id']}/sign-transaction", server.admin,
                 {"network": 860833102, "transaction": unsigned}).json()
    verify_neo_transactions([(signed["transaction"], unsigned, built["hash"], 860833102, created["public_key"])])
    check_request = {"op": "check", "neo": {"transaction": signed["transaction"], "magic": 860833102,
                                            "public_key": created["public_key"]}}
    checked = independent(check_request)["neo"]
    assert checked["valid"] is True
    assert checked["verification"] == checked["expected_verification"] == signed["verification_script"]
    check_request["neo"]["magic"] = 894710606  # the same witness is worthless on another network
    assert independent(check_request)["neo"]["valid"] is False

    # Bad requests name the field; another key's transaction is refused.
    def refused(key_id, body, status=400):
        r = api(server, "POST", f"/v1/keys/{key_id}/sign-transaction", server.admin, body)
        assert r.status_code == status, r.text
        return r.json()
    assert refused(imported["id"], {"transaction": unsigned})["errors"][0]["field"] == "network"
    assert refused(imported["id"], {"network": -1, "transaction": unsigned})["errors"][0]["field"] == "network"
    e = refused(imported["id"], {"network": PRIVNET_MAGIC, "transaction": unsigned})["errors"][0]
    assert e["field"] == "transaction" and imported["addresses"]["neo_n3"]["address"] in e["message"]
    assert refused(imported["id"], {"network": 1, "transaction": "00ff"})["errors"][0]["field"] == "transaction"
    assert refused(imported["id"], {"network": 1, "transaction": "zz"})["errors"][0]["field"] == "transaction"
    ed = api(server, "POST", "/v1/keys", server.admin, {"name": "ed", "kind": "ed25519"}).json()
    refused(ed["id"], {"network": 1, "transaction": unsigned}, status=409)


def test_neo_x_transactions_signed_through_the_api_are_ethers_bytes(server):
    imported = api(server, "POST", "/v1/keys/import", server.admin,
                   {"name": "hardhat-0", "kind": "secp256k1", "private_key": HARDHAT}).json()
    expected = independent({"op": "build", "neox": {"private_key": HARDHAT, "chain_id": 47763}})["neox"]
    assert [t["tx"]["type"] for t in expected] == [2, 2, 0]
    for t in expected:
        r = api(server, "POST", f"/v1/keys/{imported['id']}/sign-transaction", server.admin, {"transaction": t["tx"]})
        assert r.status_code == 200, r.text
        assert r.json()["raw"] == t["raw"], t["tx"]
        assert r.json()["hash"] == t["hash"]
        assert r.json()["from"] == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"

    # A key only the enclave holds: ethers recovers its address from the signed transaction.
    created = api(server, "POST", "/v1/keys", server.admin, {"name": "evm-fresh", "kind": "secp256k1"}).json()
    for t in expected:
        tx = dict(t["tx"], chainId=12227332)
        signed = api(server, "POST", f"/v1/keys/{created['id']}/sign-transaction", server.admin, {"transaction": tx}).json()
        checked = independent({"op": "check", "neox": {"raw": signed["raw"]}})["neox"]
        assert checked["from"] == created["addresses"]["neo_x"]["address"] == signed["from"]
        assert checked["hash"] == signed["hash"] and checked["chainId"] == 12227332 and checked["type"] == tx["type"]

    base = expected[0]["tx"]
    for change, field in [({"chainId": None}, "transaction.chainId"), ({"chainId": 0}, "transaction.chainId"),
                          ({"type": 1}, "transaction.type"), ({"to": "0x1234"}, "transaction.to"),
                          ({"nonce": -3}, "transaction.nonce"), ({"nonce": "1" + "0" * 30}, "transaction.nonce"),
                          ({"maxFeePerGas": "lots"}, "transaction.maxFeePerGas"), ({"data": "0xzz"}, "transaction.data"),
                          ({"gasPrice": "1"}, "transaction.gasPrice"),
                          # A type 0 transaction with type 2 fees: refused, not ignored.
                          ({"type": 0, "gasPrice": "1"}, "transaction.maxFeePerGas")]:
        body = {k: v for k, v in {**base, **change}.items() if v is not None}
        r = api(server, "POST", f"/v1/keys/{imported['id']}/sign-transaction", server.admin, {"transaction": body})
        assert r.status_code == 400, (change, r.text)
        assert r.json()["errors"][0]["field"] == field, (change, r.text)
    # Another tenant's key is not there for this user.
    user = wallet_user(server)
    r = api(server, "POST", f"/v1/keys/{imported['id']}/sign-transaction", user, {"transaction": base})
    assert r.status_code == 404


# --- keys moving between enclaves --------------------------------------------------------------

def _compressed(pub):
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    return pub.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)


def _wrapping_key(shared, ephemeral, recipient):
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral + recipient, info=b"nsl-key-wrap-v1").derive(shared)


def wrap_for(recipient_hex, kind, private_key):
    """nsl-key-wrap-v1 as docs/services.md describes it, written with Python's cryptography alone."""
    import os
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    recipient = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), bytes.fromhex(recipient_hex))
    e = ec.generate_private_key(ec.SECP256R1())
    ephemeral = _compressed(e.public_key())
    key = _wrapping_key(e.exchange(ec.ECDH(), recipient), ephemeral, _compressed(recipient))
    nonce = os.urandom(12)
    return {"format": "nsl-key-wrap-v1", "recipient": _compressed(recipient).hex(), "ephemeral_public_key": ephemeral.hex(),
            "nonce": nonce.hex(), "ciphertext": AESGCM(key).encrypt(nonce, private_key, b"nsl-key-wrap-v1:" + kind.encode()).hex()}


def unwrap_with(private, wrapped):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    assert wrapped["format"] == "nsl-key-wrap-v1"
    assert bytes.fromhex(wrapped["recipient"]) == _compressed(private.public_key())
    ephemeral = bytes.fromhex(wrapped["ephemeral_public_key"])
    peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), ephemeral)
    key = _wrapping_key(private.exchange(ec.ECDH(), peer), ephemeral, bytes.fromhex(wrapped["recipient"]))
    return AESGCM(key).decrypt(bytes.fromhex(wrapped["nonce"]), bytes.fromhex(wrapped["ciphertext"]),
                               b"nsl-key-wrap-v1:" + wrapped["kind"].encode())


def test_exportable_keys_leave_the_enclave_only_wrapped_and_only_for_admins(server, tmp_path):
    user = wallet_user(server)
    account = api(server, "GET", "/v1/auth/me", user).json()["account_id"]
    key = api(server, "POST", "/v1/keys", user, {"name": "movable", "kind": "secp256k1", "exportable": True}).json()
    kept = api(server, "POST", "/v1/keys", user, {"name": "kept", "kind": "secp256k1"}).json()
    assert key["exportable"] is True and kept["exportable"] is False
    recipient = ec.generate_private_key(ec.SECP256R1())
    body = {"recipient": _compressed(recipient.public_key()).hex()}
    # Its owner may sign with it but not take it out.
    assert api(server, "POST", f"/v1/keys/{key['id']}/export", user, body).status_code == 403
    # An admin exports it, for the user's account, wrapped for the recipient's key alone.
    r = api(server, "POST", f"/v1/keys/{key['id']}/export", server.admin, {**body, "account_id": account})
    assert r.status_code == 200, r.text
    wrapped = r.json()["wrapped"]
    private = unwrap_with(recipient, wrapped)
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    pub = ec.derive_private_key(int.from_bytes(private, "big"), ec.SECP256K1()).public_key()
    assert pub.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint).hex() == key["public_key"]
    # A key not created exportable never leaves; bad recipients are named.
    r = api(server, "POST", f"/v1/keys/{kept['id']}/export", server.admin, {**body, "account_id": account})
    assert r.status_code == 409
    r = api(server, "POST", f"/v1/keys/{key['id']}/export", server.admin, {"recipient": "02" + "ff" * 32, "account_id": account})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "recipient"
    assert api(server, "POST", f"/v1/keys/{key['id']}/export", server.admin, body).status_code == 404  # not the admin's key
    # Rotation keeps the key exportable (a new key, exported the same way).
    rotated = api(server, "POST", f"/v1/keys/{key['id']}/rotate", user).json()
    assert rotated["exportable"] is True and rotated["public_key"] != key["public_key"]
    # The private key went through the server only wrapped: it is nowhere in the server's memory.
    core = tmp_path / "core"
    dumped = subprocess.run(["gcore", "-o", str(core), str(server.proc.pid)], capture_output=True, text=True, timeout=120)
    assert dumped.returncode == 0, dumped.stderr
    image = Path(f"{core}.{server.proc.pid}").read_bytes()
    # The dump is real: it holds the key records the server keeps in its cache (the answer itself
    # may already be freed and its memory handed back).
    assert kept["public_key"].encode() in image
    for needle in (private, private.hex().encode(), private.hex().upper().encode()):
        assert needle not in image


def test_keys_are_imported_wrapped_for_the_enclaves_transport_key(server, nsl_factory):
    transport = api(server, "GET", "/v1/keys/transport-key", server.admin)
    assert transport.status_code == 200, transport.text
    t = transport.json()
    assert t["format"] == "nsl-key-wrap-v1" and len(bytes.fromhex(t["public_key"])) == 33
    assert api(server, "GET", "/v1/keys/transport-key", wallet_user(server)).status_code == 403
    wrapped = wrap_for(t["public_key"], "secp256k1", bytes.fromhex(HARDHAT))
    r = api(server, "POST", "/v1/keys/import", server.admin, {"name": "migrated", "kind": "secp256k1", "wrapped": wrapped})
    assert r.status_code == 201, r.text
    assert r.json()["addresses"]["neo_x"]["address"] == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert r.json()["exportable"] is False

    def refused(body):
        r = api(server, "POST", "/v1/keys/import", server.admin, {"name": "x", "kind": "secp256k1", **body})
        assert r.status_code == 400, r.text
        return r.json()["errors"][0]["field"]
    changed = dict(wrapped, ciphertext=("00" if wrapped["ciphertext"][:2] != "00" else "11") + wrapped["ciphertext"][2:])
    assert refused({"wrapped": changed}) == "wrapped"
    other = ec.generate_private_key(ec.SECP256R1())
    assert refused({"wrapped": wrap_for(_compressed(other.public_key()).hex(), "secp256k1", bytes.fromhex(HARDHAT))}) == "wrapped"
    assert refused({"kind": "secp256r1", "wrapped": wrapped}) == "wrapped"  # wrapped as another kind
    assert refused({"wrapped": dict(wrapped, format="v0")}) == "wrapped"
    assert refused({"wrapped": wrapped, "private_key": HARDHAT}) == "private_key"
    assert refused({}) == "private_key"

    # Migration between deployments: an exportable key leaves one enclave wrapped for the other's
    # transport key and arrives with the same public key; neither server ever sees it in clear.
    source = api(server, "POST", "/v1/keys", server.admin, {"name": "oracle", "kind": "secp256r1", "exportable": True}).json()
    other_server = nsl_factory(env={"RateLimiting__PermitLimit": "100000"})
    other_server.args = ["migrate"]
    assert other_server.run_to_end()[0] == 0
    other_admin = {"X-API-Key": admin_key(other_server, name="other-admin")}
    other_server.args = ["serve", "--urls", "http://127.0.0.1:0"]
    other_server.start()
    target = api(other_server, "GET", "/v1/keys/transport-key", other_admin).json()
    assert target["public_key"] != t["public_key"]  # another enclave, another root
    moved = api(server, "POST", f"/v1/keys/{source['id']}/export", server.admin, {"recipient": target["public_key"]}).json()
    arrived = api(other_server, "POST", "/v1/keys/import", other_admin,
                  {"name": "oracle-moved", "kind": "secp256r1", "wrapped": moved["wrapped"]})
    assert arrived.status_code == 201, arrived.text
    assert arrived.json()["public_key"] == source["public_key"]
    # The same wrapped key means nothing to the enclave it came from.
    again = api(server, "POST", "/v1/keys/import", server.admin, {"name": "back", "kind": "secp256r1", "wrapped": moved["wrapped"]})
    assert again.status_code == 400


def test_an_account_holds_a_bounded_number_of_keys(nsl_factory):
    """Quotas:KeysPerAccount: a create or import beyond it is a 409 naming the setting; rotations
    do not count, and a deleted key frees its place. Quotas:KeyVersionsKept: a rotation deletes
    versions older than the newest ones kept."""
    from test_data_layer import started
    p = started(nsl_factory, env={"Quotas__KeysPerAccount": "2", "Quotas__KeyVersionsKept": "2",
                                  "RateLimiting__PermitLimit": "100000"})
    me = p.admin
    first = api(p, "POST", "/v1/keys", me, {"name": "a", "kind": "secp256k1"}).json()
    assert api(p, "POST", "/v1/keys", me, {"name": "b", "kind": "secp256r1"}).status_code == 201
    for _ in range(3):
        rotated = api(p, "POST", f"/v1/keys/{first['id']}/rotate", me)
        assert rotated.status_code == 200, rotated.text
    # Only the newest two versions are kept; the newest signs.
    rows = p.store.rows("SELECT version, status FROM keys WHERE id = ? ORDER BY version", (first["id"],))
    assert [(r["version"], r["status"]) for r in rows] == [(3, "retired"), (4, "active")]
    s = api(p, "POST", f"/v1/keys/{first['id']}/sign-message", me, {"message": "m"}).json()
    assert check("neo-x", rotated.json()["public_key"], "m", s["signature_rsv"])["valid"] is True
    for method, path, body in (("POST", "/v1/keys", {"name": "c", "kind": "ed25519"}),
                               ("POST", "/v1/keys/import", {"name": "c", "kind": "secp256k1", "private_key": "11" * 32})):
        over = api(p, method, path, me, body)
        assert over.status_code == 409 and "Quotas:KeysPerAccount" in over.json()["detail"], over.text
    assert api(p, "DELETE", f"/v1/keys/{first['id']}", me).status_code == 204
    assert api(p, "POST", "/v1/keys", me, {"name": "c", "kind": "ed25519"}).status_code == 201
