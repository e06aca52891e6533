// neon-core side of bench/neo_bench.sh: the same work as nsl_bench_neo, timed the same way.
//   node neo_bench.js sign COUNT
//   node neo_bench.js watch URL HASH FROM TO
const path = require("path");
const { tx, wallet, sc, rpc } = require(path.join(__dirname, "..", "tests", "js", "node_modules", "@cityofzion", "neon-core"));

async function main() {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === "sign") {
    const n = Number(args[0] || 20000);
    const account = new wallet.Account("KxyjQ8eUa4FHt3Gvioyt1Wz29cTUrE4eTqX3yFSk1YFCsPL8uNsY");
    const to = "70997970c51812dc3a010c7d01b50e0d17dc79c8";
    const gas = "d2a4cff31913016155e38e474a2c06d08be276cf";
    let bytes = 0;
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const script = sc.createScript({
        scriptHash: gas, operation: "transfer",
        args: [sc.ContractParam.hash160(account.scriptHash), sc.ContractParam.hash160(to),
               sc.ContractParam.integer(100000000 + i), sc.ContractParam.any(null)],
      });
      const t1 = new tx.Transaction({
        nonce: i, systemFee: "997775", networkFee: "1230610", validUntilBlock: 5760, script,
        signers: [{ account: account.scriptHash, scopes: tx.WitnessScope.CalledByEntry }],
      });
      t1.sign(account, 860833102);
      bytes += t1.serialize(true).length / 2;
    }
    const s = Number(process.hrtime.bigint() - t) / 1e9;
    console.log(JSON.stringify({ signed_per_s: Math.round(n / s), check: bytes }));
    return;
  }
  if (mode === "watch") {
    // A straightforward indexer on neon-core's RPC client: blocks in order, each block's
    // application logs fetched together, each Bumped(value, note) decoded.
    const [url, hash, fromText, toText] = args;
    const client = new rpc.RPCClient(url);
    const contract = hash.toLowerCase();
    let notifications = 0;
    let check = 0n;
    const t = process.hrtime.bigint();
    for (let i = Number(fromText); i <= Number(toText); i++) {
      const block = await client.getBlock(i, true);
      const logs = await Promise.all(block.tx.map((x) => client.getApplicationLog(x.hash)));
      for (const log of logs) {
        for (const e of log.executions) {
          if (e.vmstate !== "HALT") continue;
          for (const n of e.notifications) {
            if (n.contract.toLowerCase() !== contract || n.eventname !== "Bumped") continue;
            const [value, note] = n.state.value;
            check += BigInt(value.value) + BigInt(Buffer.from(note.value, "base64").toString("utf8").length);
            notifications++;
          }
        }
      }
    }
    const s = Number(process.hrtime.bigint() - t) / 1e9;
    if (check < 0n) throw new Error("unreachable");
    console.log(JSON.stringify({ notifications_per_s: Math.round(notifications / s), notifications }));
    return;
  }
  throw new Error("usage: neo_bench.js sign COUNT | watch URL HASH FROM TO");
}

main().catch((e) => { console.error(e); process.exit(1); });
