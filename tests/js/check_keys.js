// Checks public keys, addresses and signatures from the key service with independent code:
// neon-core for Neo N3 (address from the public key, ECDSA P-256 verification), ethers for Neo X
// (address from the public key, EIP-191 signer recovery). Reads {chain, public_key, message,
// signature} from argv[2] (JSON); prints {address, valid}.
const { wallet } = require("@cityofzion/neon-core");
const { ethers } = require("ethers");

const input = JSON.parse(process.argv[2]);
if (input.chain === "neo-n3") {
  const address = wallet.getAddressFromScriptHash(wallet.getScriptHashFromPublicKey(input.public_key));
  const valid = wallet.verify(Buffer.from(input.message, "utf8").toString("hex"), input.signature, input.public_key);
  console.log(JSON.stringify({ address, valid }));
} else {
  const address = ethers.computeAddress("0x" + input.public_key);
  const signer = ethers.verifyMessage(input.message, "0x" + input.signature);
  console.log(JSON.stringify({ address, valid: signer === address, signer }));
}
