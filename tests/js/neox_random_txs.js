// Prints N random Neo X transactions as JSON lines, each signed by ethers v6 with a random key:
// the parameters for nsl_neox_codec ("op":"sign") plus what ethers produced ("expect").
// Usage: node neox_random_txs.js N SEED
const { ethers } = require("ethers");

const n = Number(process.argv[2] || 100);
const { next, bytes, upTo, pick } = require("./prng").makeRandom(process.argv[3]);

for (let i = 0; i < n; i++) {
  let key;
  do { key = ethers.hexlify(bytes(32)); } while (BigInt(key) === 0n || BigInt(key) >= ethers.N);
  const wallet = new ethers.Wallet(key);
  const type = pick([0, 2]);
  const chainId = pick([47763n, 12227332n, 1n, upTo(32) + 1n]);
  const to = pick([null, ethers.getAddress(ethers.hexlify(bytes(20)))]);
  const value = pick([0n, 1n, upTo(64), upTo(256)]);
  const data = ethers.hexlify(bytes(Number(pick([0n, 1n, 4n, 68n, next() % 300n]))));
  const fields = {
    type, chainId, nonce: pick([0n, 1n, upTo(16), upTo(52)]), gasLimit: pick([21000n, upTo(32)]), to, value, data,
  };
  if (type === 0) {
    fields.gasPrice = pick([0n, 40000000000n, upTo(80)]);
  } else {
    fields.maxFeePerGas = pick([40000000000n, upTo(80)]);
    // ethers refuses a tip above the fee cap (so does every node).
    fields.maxPriorityFeePerGas = pick([0n, 20000000000n, fields.maxFeePerGas, upTo(64) % (fields.maxFeePerGas + 1n)]);
    fields.accessList = Array.from({ length: Number(next() % 3n) }, () => ({
      address: ethers.getAddress(ethers.hexlify(bytes(20))),
      storageKeys: Array.from({ length: Number(next() % 3n) }, () => ethers.hexlify(bytes(32))),
    }));
  }
  const tx = ethers.Transaction.from(fields);
  const signed = ethers.Transaction.from(tx);
  signed.signature = wallet.signingKey.sign(tx.unsignedHash);
  const str = (v) => (v === undefined ? undefined : v.toString());
  console.log(JSON.stringify({
    op: "sign", type, chainId: Number(chainId), nonce: Number(fields.nonce), gasLimit: Number(fields.gasLimit),
    gasPrice: str(fields.gasPrice), maxPriorityFeePerGas: str(fields.maxPriorityFeePerGas),
    maxFeePerGas: str(fields.maxFeePerGas), to, value: value.toString(), data, accessList: fields.accessList || [],
    key,
    expect: {
      unsigned: tx.unsignedSerialized, sighash: tx.unsignedHash, signed: signed.serialized, hash: signed.hash,
      from: wallet.address,
    },
  }));
}
