// Funds fresh test accounts on the single-node Neo N3 test network with GAS from the genesis
// 1-of-1 multi-signature account, in one transaction built and signed by neon-core, and writes
// them (address, WIF, GAS) as JSON once the transfer has executed.
// Usage: node neo_devnet_fund.js RPC_URL OUT_FILE [ACCOUNTS=3] [GAS=1000]
const fs = require("fs");
const { rpc, sc, tx, wallet, u } = require("@cityofzion/neon-core");

const GAS = "d2a4cff31913016155e38e474a2c06d08be276cf";

(async () => {
  const [url, out, countText, gasText] = process.argv.slice(2);
  const count = Number(countText || 3);
  const amount = BigInt(gasText || 1000) * 100000000n;
  const client = new rpc.RPCClient(url);
  const magic = (await client.getVersion()).protocol.network;
  const validator = new wallet.Account("KxyjQ8eUa4FHt3Gvioyt1Wz29cTUrE4eTqX3yFSk1YFCsPL8uNsY");
  const genesis = wallet.Account.createMultiSig(1, [validator.publicKey]);
  const accounts = Array.from({ length: count }, () => new wallet.Account(wallet.generatePrivateKey()));

  const builder = new sc.ScriptBuilder();
  for (const a of accounts) {
    builder.emitContractCall({
      scriptHash: GAS, operation: "transfer",
      args: [sc.ContractParam.hash160(genesis.scriptHash), sc.ContractParam.hash160(a.scriptHash),
             sc.ContractParam.integer(amount.toString()), sc.ContractParam.any(null)],
    });
    builder.emit(sc.OpCode.ASSERT);
  }
  const script = builder.build();
  const signers = [{ account: genesis.scriptHash, scopes: tx.WitnessScope.CalledByEntry }];
  const run = await client.invokeScript(u.HexString.fromHex(script), signers);
  if (run.state !== "HALT") throw new Error(`the funding script faults: ${run.exception}`);
  const transfer = new tx.Transaction({
    signers, script, systemFee: run.gasconsumed,
    validUntilBlock: (await client.getBlockCount()) + 100,
    witnesses: [new tx.Witness({ invocationScript: "", verificationScript: u.base642hex(genesis.contract.script) })],
  });
  transfer.networkFee = u.BigInteger.fromNumber(await client.calculateNetworkFee(transfer));
  const signature = wallet.sign(transfer.getMessageForSigning(magic), validator.privateKey);
  transfer.witnesses[0] = new tx.Witness({ invocationScript: "0c40" + signature, verificationScript: u.base642hex(genesis.contract.script) });
  const hash = await client.sendRawTransaction(transfer);
  for (let i = 0; i < 300; i++) {
    try {
      const log = await client.getApplicationLog(hash);
      if (log.executions[0].vmstate !== "HALT") throw new Error(`funding failed: ${log.executions[0].exception}`);
      fs.writeFileSync(out, JSON.stringify(accounts.map((a) => ({ address: a.address, wif: a.WIF, gas: amount.toString() })), null, 2));
      return;
    } catch (e) {
      if (!String(e.message).includes("Unknown") && !String(e.message).includes("unknown")) throw e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the funding transaction was not included within 30 s");
})().catch((e) => { console.error(`neo_devnet_fund: ${e.message || e}`); process.exit(1); });
