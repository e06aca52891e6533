// Writes the NEP-6 wallet of the single-node Neo N3 test network: the well-known privnet
// validator key (docs/neo-protocol.md §5; public, test-only), encrypted with passphrase "one".
// Usage: node neo_devnet_wallet.js OUT_FILE
const fs = require("fs");
const { wallet } = require("@cityofzion/neon-core");

(async () => {
  const account = new wallet.Account("KxyjQ8eUa4FHt3Gvioyt1Wz29cTUrE4eTqX3yFSk1YFCsPL8uNsY");
  const w = new wallet.Wallet({ name: "nsl-devnet", accounts: [account] });
  await w.encryptAll("one");
  fs.writeFileSync(process.argv[2], JSON.stringify(w.export(), null, 2));
})().catch((e) => { console.error(e); process.exit(1); });
