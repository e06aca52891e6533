// Verifies Neo N3 signatures that nsl made (random nonces, so they are checked, not compared) with
// neon-core. Reads JSON lines on stdin and writes one JSON line per input line:
//   {transaction: hex, magic, public_key} -> {unsigned, hash, witnesses, verification, valid}:
//     neon-core reads the transaction and checks its first witness's signature over the sign
//     data it computes itself for `magic`
//   {message: hex, signature: hex, public_key} -> {valid}: ECDSA P-256 over SHA-256(message)
const readline = require("readline");
const { tx, wallet, u } = require("@cityofzion/neon-core");

function check(input) {
  if (input.transaction !== undefined) {
    const t = tx.Transaction.deserialize(input.transaction);
    const w = t.witnesses[0];
    const invocation = w.invocationScript.toBigEndian();
    if (!invocation.startsWith("0c40") || invocation.length !== 4 + 128) {
      return { unsigned: t.serialize(false), hash: t.hash(), witnesses: t.witnesses.length, valid: false };
    }
    const signature = invocation.slice(4);
    return {
      unsigned: t.serialize(false),
      hash: t.hash(),
      witnesses: t.witnesses.length,
      verification: w.verificationScript.toBigEndian() === wallet.getVerificationScriptFromPublicKey(input.public_key),
      valid: wallet.verify(t.getMessageForSigning(input.magic), signature, input.public_key),
    };
  }
  return { valid: wallet.verify(input.message, input.signature, input.public_key) };
}

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  if (!line.trim()) return;
  let out;
  try {
    out = check(JSON.parse(line));
  } catch (e) {
    out = { error: String(e.message || e) };
  }
  console.log(JSON.stringify(out));
});
