// Transactions built and signed by independent code, for the key service's sign-transaction
// route: neon-core for Neo N3, ethers for Neo X. Reads one JSON request from argv[2]:
//   {op: "build", neo: {private_key, magic}, neox: {private_key, chain_id}}
//     -> {neo: {unsigned, signed, hash}, neox: [{tx, raw, hash}, ...]} (what the key must give back)
//   {op: "build", neo: {address, magic}} -> {neo: {unsigned}} for a key only the enclave holds
//   {op: "check", neo: {transaction, magic, public_key}, neox: {raw}}
//     -> {neo: {valid, hash, witnesses}, neox: {from, hash, chainId, nonce, type}}
const { tx, wallet, sc, u } = require("@cityofzion/neon-core");
const { ethers } = require("ethers");

const input = JSON.parse(process.argv[2]);
const out = {};

function neoTransaction(scriptHash) {
  const script = sc.createScript({
    scriptHash: "d2a4cff31913016155e38e474a2c06d08be276cf", // GAS
    operation: "transfer",
    args: [sc.ContractParam.hash160(scriptHash), sc.ContractParam.hash160("0".repeat(40)),
           sc.ContractParam.integer(12345), sc.ContractParam.any(null)],
  });
  return new tx.Transaction({
    nonce: 123456789, systemFee: "997775", networkFee: "1234560", validUntilBlock: 4242, script,
    signers: [{ account: scriptHash, scopes: tx.WitnessScope.CalledByEntry }],
  });
}

async function main() {
if (input.op === "build") {
  if (input.neo) {
    const account = input.neo.private_key ? new wallet.Account(input.neo.private_key) : new wallet.Account(input.neo.address);
    const t = neoTransaction(account.scriptHash);
    out.neo = { unsigned: t.serialize(false), hash: t.hash() };
    if (input.neo.private_key) {
      t.sign(account, input.neo.magic);
      out.neo.signed = t.serialize(true);
    }
  }
  if (input.neox) {
    const w = new ethers.Wallet("0x" + input.neox.private_key);
    const chainId = input.neox.chain_id;
    const txs = [
      { type: 2, chainId, nonce: 7, to: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", value: "1000000000000000000",
        gasLimit: 21000, maxFeePerGas: "40000000000", maxPriorityFeePerGas: "20000000000", data: "0x" },
      { type: 2, chainId, nonce: 8, to: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", value: "0",
        gasLimit: 90000, maxFeePerGas: "0x9502f9000", maxPriorityFeePerGas: "1", data: "0xa9059cbb00",
        accessList: [{ address: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
                       storageKeys: ["0x" + "00".repeat(31) + "01"] }] },
      { type: 0, chainId, nonce: 9, to: "0x90f79bf6eb2c4f870365e785982e1f87e9a6d32f", value: "5",
        gasLimit: 30000, gasPrice: "25000000000", data: "0x" },
    ];
    out.neox = [];
    for (const t of txs) {
      const raw = await w.signTransaction(t);
      out.neox.push({ tx: t, raw, hash: ethers.keccak256(raw) });
    }
  }
} else if (input.op === "check") {
  if (input.neo) {
    const t = tx.Transaction.deserialize(input.neo.transaction);
    const message = t.getMessageForSigning(input.neo.magic);
    const w = t.witnesses[0];
    const signature = u.HexString.fromHex(w.invocationScript.toBigEndian().slice(4)).toBigEndian();
    out.neo = {
      hash: t.hash(),
      valid: wallet.verify(message, signature, input.neo.public_key),
      verification: w.verificationScript.toBigEndian(),
      expected_verification: wallet.getVerificationScriptFromPublicKey(input.neo.public_key),
    };
  }
  if (input.neox) {
    const t = ethers.Transaction.from(input.neox.raw);
    out.neox = { from: t.from, hash: t.hash, chainId: Number(t.chainId), nonce: t.nonce, type: t.type };
  }
}

console.log(JSON.stringify(out));
}

main();
