// ethers side of bench/neox_bench.sh: the same work as nsl_bench_neox, timed the same way.
const path = require("path");
const { ethers } = require(path.join(__dirname, "..", "tests", "js", "node_modules", "ethers"));

const n = Number(process.argv[2] || 20000);
const key = new ethers.SigningKey("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
const to = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
let bytes = 0;
let t = process.hrtime.bigint();
for (let i = 0; i < n; i++) {
  const tx = ethers.Transaction.from({
    type: 2, chainId: 47763, nonce: i, maxPriorityFeePerGas: 20000000000n, maxFeePerGas: 40000000000n,
    gasLimit: 60000, to, value: 10n ** 18n,
    data: "0xa9059cbb00000000000000000000000070997970c51812dc3a010c7d01b50e0d17dc79c80000000000000000000000000000000000000000000000000de0b6b3a7640000",
  });
  tx.signature = key.sign(tx.unsignedHash);
  bytes += (tx.serialized.length - 2) / 2;
}
const signS = Number(process.hrtime.bigint() - t) / 1e9;

const iface = new ethers.Interface(["event Transfer(address indexed from, address indexed to, uint256 value)"]);
const topic0 = iface.getEvent("Transfer").topicHash;
const pad = (a) => ethers.zeroPadValue(a, 32);
const log = { topics: [topic0, pad(to), pad(to)], data: ethers.AbiCoder.defaultAbiCoder().encode(["uint256"], [123456789]) };
const logs = n * 5;
let total = 0n;
t = process.hrtime.bigint();
for (let i = 0; i < logs; i++) total += iface.parseLog(log).args.value;
const logsS = Number(process.hrtime.bigint() - t) / 1e9;
console.log(JSON.stringify({ signed_per_s: Math.round(n / signS), logs_per_s: Math.round(logs / logsS), check: bytes + (total > 0n ? 1 : 0) }));
