"""Neo N3 encodings and signatures checked against an independent implementation:
@cityofzion/neon-core (npm). Random contract-call transactions are built and signed by neon with
random keys and network magics; nsl must produce the same script, unsigned bytes, hash and signed
bytes but for the signature (its nonce is random), and every signature nsl makes must verify with
neon-core (reading nsl's signed bytes), Python's cryptography and openssl. nsl's decoder must read
neon's bytes back to the same serialization.
"""
import json
import os
import subprocess
from pathlib import Path

import pytest

from p256_verifiers import split_neo_signed, verify_neo_transactions

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("NSL_BUILD_DIR") or ROOT / "build")
CODEC = BUILD / "src" / "nsl" / "chain" / "neo" / "nsl_neo_codec"


def run_codec(requests):
    proc = subprocess.run([str(CODEC)], input="".join(json.dumps(r) + "\n" for r in requests),
                          capture_output=True, text=True, timeout=120, check=True)
    return [json.loads(line) for line in proc.stdout.splitlines()]


def neon_transactions(count, seed):
    out = subprocess.run(["node", str(ROOT / "tests" / "js" / "neo_random_txs.js"), str(count), str(seed)],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    return [json.loads(line) for line in out.splitlines()]


@pytest.mark.parametrize("seed", [21, 22])
def test_transactions_match_neon_and_their_signatures_verify(seed):
    txs = neon_transactions(150, seed)
    assert len(txs) == 150
    ours = run_codec(txs)
    assert len(ours) == len(txs)
    for tx, mine in zip(txs, ours):
        assert "error" not in mine, (tx, mine)
        for field in ("script", "unsigned", "hash", "publicKey"):
            assert mine[field] == tx["expect"][field], f"{field} differs: {tx}"
        before, _, after = split_neo_signed(mine["unsigned"], mine["signed"])
        theirs = split_neo_signed(tx["expect"]["unsigned"], tx["expect"]["signed"])
        assert (before, after) == (theirs[0], theirs[2]), f"signed bytes differ beyond the signature: {tx}"
    verify_neo_transactions([(m["signed"], t["expect"]["unsigned"], t["expect"]["hash"], t["magic"], t["expect"]["publicKey"])
                             for t, m in zip(txs, ours)])


def test_decoder_reads_neon_transactions_back():
    txs = neon_transactions(100, 23)
    decoded = run_codec([{"op": "decode", "raw": t["expect"]["signed"]} for t in txs])
    assert len(decoded) == len(txs)
    for tx, d in zip(txs, decoded):
        assert d.get("reserialized") == tx["expect"]["signed"], (tx, d)
