"""Independent verifiers for the secp256r1 (Neo N3) signatures nsl makes. Their nonces are random,
so a signature is never compared with another implementation's bytes: what was signed is compared,
and every signature is verified by neon-core (Node), Python's cryptography (with its own OpenSSL
build) and the openssl command line."""
import hashlib
import json
import subprocess
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

JS = Path(__file__).resolve().parents[1] / "js"


def neo_sign_data(magic, unsigned_hex):
    """What a Neo N3 witness signs: the network magic (u32, little-endian) and the transaction's
    hash, SHA-256 of its unsigned bytes (computed here, not taken from nsl)."""
    return magic.to_bytes(4, "little") + hashlib.sha256(bytes.fromhex(unsigned_hex)).digest()


def neon_check(requests):
    """verify_neo.js on each request (see there); one answer per request, in order."""
    out = subprocess.run(["node", str(JS / "verify_neo.js")], input="".join(json.dumps(r) + "\n" for r in requests),
                         capture_output=True, text=True, check=True, cwd=JS, timeout=300).stdout
    answers = [json.loads(line) for line in out.splitlines()]
    assert len(answers) == len(requests), (len(answers), len(requests), out[-2000:])
    return answers


# The order of the secp256r1 group.
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def assert_low_s(signature):
    """nsl publishes the low S, as Neo's nodes and neon-js do: 0 < r < n and 0 < s <= n / 2."""
    assert len(signature) == 64, signature.hex()
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    assert 0 < r < N and 0 < s <= N // 2, signature.hex()


def _der(signature):
    assert len(signature) == 64, signature.hex()
    return utils.encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))


def verify_with_cryptography(public_key_hex, signature, message=None, digest=None):
    """Raises InvalidSignature unless `signature` (r || s) is valid over SHA-256(message), or over
    a digest made elsewhere."""
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), bytes.fromhex(public_key_hex))
    if message is not None:
        key.verify(_der(signature), message, ec.ECDSA(hashes.SHA256()))
    else:
        key.verify(_der(signature), digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))


def verify_with_openssl(public_key_hex, signature, message=None, digest=None):
    """The same with the openssl command line (dgst over a message, pkeyutl over a digest)."""
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), bytes.fromhex(public_key_hex))
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        (d / "key.pem").write_bytes(key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
        (d / "sig.der").write_bytes(_der(signature))
        (d / "data").write_bytes(message if message is not None else digest)
        if message is not None:
            cmd = ["openssl", "dgst", "-sha256", "-verify", "key.pem", "-signature", "sig.der", "data"]
        else:
            cmd = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "key.pem", "-in", "data", "-sigfile", "sig.der"]
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=d)
    assert r.returncode == 0 and "Verified" in r.stdout, (public_key_hex, signature.hex(), r.stdout, r.stderr)


# After the unsigned bytes of a single-signature Neo N3 transaction: one witness, whose invocation
# script (66 bytes) is PUSHDATA1 64 and the signature.
NEO_WITNESS = "01" + "42" + "0c40"


def split_neo_signed(unsigned, signed):
    """(bytes before the signature, the signature, bytes after it) of a signed single-signature
    transaction, in hex."""
    assert signed.startswith(unsigned + NEO_WITNESS), (unsigned, signed)
    at = len(unsigned) + len(NEO_WITNESS)
    return signed[:at], signed[at:at + 128], signed[at + 128:]


def verify_neo_transactions(items):
    """items: (signed hex, unsigned hex, hash hex as neon-core prints it, magic, public key hex).
    neon-core reads each signed transaction and must find the expected unsigned bytes and hash
    and a valid witness for that key over the sign data it computes for `magic`; Python's
    cryptography and openssl verify the signature over the sign data computed here."""
    checked = neon_check([{"transaction": signed, "magic": magic, "public_key": key}
                          for signed, _, _, magic, key in items])
    for (signed, unsigned, tx_hash, magic, key), c in zip(items, checked):
        assert c == {"unsigned": unsigned, "hash": tx_hash, "witnesses": 1, "verification": True, "valid": True}, \
            (signed, magic, key, c)
        signature = bytes.fromhex(split_neo_signed(unsigned, signed)[1])
        assert_low_s(signature)
        verify_with_cryptography(key, signature, message=neo_sign_data(magic, unsigned))
        verify_with_openssl(key, signature, message=neo_sign_data(magic, unsigned))
