// Prints N random Neo N3 transactions as JSON lines, built and signed by @cityofzion/neon-core:
// the parameters for nsl_neo_codec plus what neon produced ("expect").
// Usage: node neo_random_txs.js N SEED
const { tx, wallet, sc, u } = require("@cityofzion/neon-core");
const { next, bytes, upTo, below, pick } = require("./prng").makeRandom(process.argv[3]);

const n = Number(process.argv[2] || 100);
const hexOf = (b) => Buffer.from(b).toString("hex");

// A random argument as [neon ContractParam, JSON for nsl].
function randomArg(depth) {
  const kinds = depth >= 2 ? ["int", "string", "bytes", "hash160", "bool", "null"]
                           : ["int", "string", "bytes", "hash160", "bool", "null", "array"];
  switch (pick(kinds)) {
    case "int": {
      const v = pick([0n, 1n, 16n, 17n, -1n, -129n, upTo(30), upTo(63), upTo(120), -upTo(100)]);
      return [sc.ContractParam.integer(v.toString()), { type: "Integer", value: v.toString() }];
    }
    case "string": {
      const chars = "abc xyz é 中 🚀";
      const s = Array.from({ length: below(30) }, () => [...chars][below([...chars].length)]).join("");
      return [sc.ContractParam.string(s), { type: "String", value: s }];
    }
    case "bytes": {
      const h = hexOf(bytes(pick([0, 1, 20, 75, 300])));
      return [sc.ContractParam.byteArray(u.HexString.fromHex(h, true)), { type: "ByteArray", value: h }];
    }
    case "hash160": {
      const display = hexOf(bytes(20));
      return [sc.ContractParam.hash160(display), { type: "Hash160", value: display }];
    }
    case "bool": {
      const b = (next() & 1n) === 1n;
      return [sc.ContractParam.boolean(b), { type: "Boolean", value: b }];
    }
    case "null":
      return [sc.ContractParam.any(null), { type: "Any", value: null }];
    default: {
      const items = Array.from({ length: below(4) }, () => randomArg(depth + 1));
      return [sc.ContractParam.array(...items.map((i) => i[0])), { type: "Array", value: items.map((i) => i[1]) }];
    }
  }
}

for (let i = 0; i < n; i++) {
  const account = new wallet.Account(wallet.generatePrivateKey());
  const contract = hexOf(bytes(20));
  const method = pick(["transfer", "balanceOf", "set", "x"]);
  const args = Array.from({ length: below(5) }, () => randomArg(0));
  const script = sc.createScript({ scriptHash: contract, operation: method, args: args.map((a) => a[0]) });
  const scopes = pick([tx.WitnessScope.CalledByEntry, tx.WitnessScope.Global, tx.WitnessScope.CalledByEntry | tx.WitnessScope.CustomContracts]);
  const allowed = scopes & tx.WitnessScope.CustomContracts ? [hexOf(bytes(20)), hexOf(bytes(20))].slice(0, 1 + below(2)) : [];
  const magic = pick([860833102, 894710606, 56753, Number(upTo(32))]);
  const t = new tx.Transaction({
    nonce: Number(upTo(32)), systemFee: upTo(40).toString(), networkFee: upTo(40).toString(),
    validUntilBlock: Number(upTo(32)), script,
    signers: [{ account: account.scriptHash, scopes, allowedContracts: allowed }],
  });
  const unsigned = t.serialize(false);
  t.sign(account, magic);
  console.log(JSON.stringify({
    op: "sign", nonce: t.nonce, systemFee: t.systemFee.toString(), networkFee: t.networkFee.toString(),
    validUntilBlock: t.validUntilBlock, scopes, allowedContracts: allowed, contract, method,
    args: args.map((a) => a[1]), key: account.privateKey, magic,
    expect: { script, unsigned, hash: t.hash(), signed: t.serialize(true), publicKey: account.publicKey },
  }));
}
