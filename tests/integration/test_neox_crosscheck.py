"""Neo X encodings checked against an independent implementation: ethers v6 (npm).

Random legacy (EIP-155) and EIP-1559 transactions are built and signed by ethers with random keys;
nsl's encoder must produce the same unsigned bytes, signing hash, signed bytes and hash, and nsl's
decoder must recover ethers' signer from ethers' bytes.
"""
import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("NSL_BUILD_DIR") or ROOT / "build")
CODEC = BUILD / "src" / "nsl" / "chain" / "neox" / "nsl_neox_codec"
JS = ROOT / "tests" / "js"


def run_codec(requests):
    proc = subprocess.run([str(CODEC)], input="".join(json.dumps(r) + "\n" for r in requests),
                          capture_output=True, text=True, timeout=120, check=True)
    return [json.loads(line) for line in proc.stdout.splitlines()]


def node_cases(script, count, seed):
    """Runs one of the ethers generator scripts in tests/js and returns its JSON lines."""
    out = subprocess.run(["node", str(JS / script), str(count), str(seed)], capture_output=True, text=True,
                         timeout=300, check=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def ethers_transactions(count, seed):
    return node_cases("neox_random_txs.js", count, seed)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_encoding_and_signatures_match_ethers(seed):
    txs = ethers_transactions(200, seed)
    assert len(txs) == 200
    assert {t["type"] for t in txs} == {0, 2}
    ours = run_codec(txs)
    assert len(ours) == len(txs)
    for tx, mine in zip(txs, ours):
        assert "error" not in mine, (tx, mine)
        for field in ("unsigned", "sighash", "signed", "hash", "from"):
            assert mine[field] == tx["expect"][field], f"{field} differs for seed {seed}: {tx}"


def test_decoder_recovers_the_signer_of_ethers_transactions():
    txs = ethers_transactions(200, 99)
    decoded = run_codec([{"op": "decode", "raw": t["expect"]["signed"]} for t in txs])
    assert len(decoded) == len(txs)
    for tx, d in zip(txs, decoded):
        assert "error" not in d, (tx, d)
        assert d["from"] == tx["expect"]["from"]
        assert d["nonce"] == tx["nonce"]
        assert d["value"] == tx["value"]
        assert d["chainId"] == tx["chainId"]


def test_decoder_rejects_tampered_and_truncated_bytes():
    tx = ethers_transactions(1, 5)[0]
    raw = tx["expect"]["signed"]
    results = run_codec([
        {"op": "decode", "raw": raw[:-2]},                                   # truncated
        {"op": "decode", "raw": raw + "00"},                                 # trailing byte
        {"op": "decode", "raw": "0x03" + raw[4:]},                           # unknown type
    ])
    assert len(results) == 3 and all("error" in r for r in results), results
    # A flipped bit in the payload still decodes, but to another sender: signatures bind the bytes.
    flipped = raw[:-70] + format(int(raw[-70], 16) ^ 1, "x") + raw[-69:]
    r = run_codec([{"op": "decode", "raw": flipped}])[0]
    assert r.get("from") != tx["expect"]["from"]


def ethers_abi_cases(count, seed):
    return node_cases("abi_random_values.js", count, seed)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_abi_encoding_matches_ethers_for_random_types_and_values(seed):
    cases = ethers_abi_cases(300, seed)
    assert any("[]" in t for c in cases for t in c["types"])  # dynamic arrays were generated
    assert any(t.startswith("(") for c in cases for t in c["types"])  # and tuples
    ours = run_codec(cases)
    assert len(ours) == len(cases)
    for case, mine in zip(cases, ours):
        assert "error" not in mine, (case, mine)
        assert mine["encoded"] == case["encoded"], case
        assert mine.get("roundtrip") == case["encoded"], (case, mine.get("roundtrip_error"))
