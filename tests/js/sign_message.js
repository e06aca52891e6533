// Signs a wallet sign-in message with a fresh key, as a wallet would, using independent code:
// neon-core for Neo N3 (ECDSA P-256 over SHA-256 of the message), ethers for Neo X (EIP-191).
// Prints {address, public_key, signature, wif|private_key}.
// Usage: node sign_message.js neo-n3|neo-x MESSAGE [KEY]   (KEY: WIF or 0x-hex to reuse a key)
const { wallet } = require("@cityofzion/neon-core");
const { ethers } = require("ethers");

(async () => {
  const [chain, message, key] = process.argv.slice(2);
  if (chain === "neo-n3") {
    const account = new wallet.Account(key || wallet.generatePrivateKey());
    const signature = wallet.sign(Buffer.from(message, "utf8").toString("hex"), account.privateKey);
    console.log(JSON.stringify({ address: account.address, public_key: account.publicKey, signature, wif: account.WIF }));
  } else if (chain === "neo-x") {
    const w = key ? new ethers.Wallet(key) : ethers.Wallet.createRandom();
    const signature = await w.signMessage(message);
    console.log(JSON.stringify({ address: w.address, signature: signature.slice(2), private_key: w.privateKey }));
  } else {
    throw new Error("chain must be neo-n3 or neo-x");
  }
})().catch((e) => { console.error(e.message || e); process.exit(1); });
