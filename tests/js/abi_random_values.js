// Prints N random (types, values, ethers encoding) cases as JSON lines for nsl_neox_codec "abi".
// Usage: node abi_random_values.js N SEED
const { ethers } = require("ethers");

const n = Number(process.argv[2] || 100);
const { next, bytes, below, upTo } = require("./prng").makeRandom(process.argv[3]);
const bits = upTo;

function randomType(depth) {
  const leaf = ["uint", "int", "address", "bool", "bytesN", "bytes", "string"];
  const kinds = depth >= 3 ? leaf : [...leaf, "array", "fixed", "tuple"];
  switch (kinds[below(kinds.length)]) {
    case "uint": return "uint" + 8 * (1 + below(32));
    case "int": return "int" + 8 * (1 + below(32));
    case "address": return "address";
    case "bool": return "bool";
    case "bytesN": return "bytes" + (1 + below(32));
    case "bytes": return "bytes";
    case "string": return "string";
    case "array": return randomType(depth + 1) + "[]";
    case "fixed": return randomType(depth + 1) + "[" + (1 + below(3)) + "]";
    default: return "(" + Array.from({ length: 1 + below(3) }, () => randomType(depth + 1)).join(",") + ")";
  }
}

// Returns [value for ethers, value as JSON for nsl].
function randomValue(type) {
  const p = ethers.ParamType.from(type);
  return valueOf(p);
}
function valueOf(p) {
  if (p.baseType === "array") {
    const len = p.arrayLength >= 0 ? p.arrayLength : below(4);
    const items = Array.from({ length: len }, () => valueOf(p.arrayChildren));
    return [items.map((x) => x[0]), items.map((x) => x[1])];
  }
  if (p.baseType === "tuple") {
    const items = p.components.map(valueOf);
    return [items.map((x) => x[0]), items.map((x) => x[1])];
  }
  const t = p.type;
  if (t.startsWith("uint")) { const v = bits(Number(t.slice(4))); return [v, v.toString()]; }
  if (t.startsWith("int")) {
    const w = Number(t.slice(3));
    const v = bits(w - 1) * (next() & 1n ? -1n : 1n) - (next() % 7n === 0n ? 1n : 0n);
    const clamped = v < -(1n << BigInt(w - 1)) ? -(1n << BigInt(w - 1)) : v;
    return [clamped, clamped.toString()];
  }
  if (t === "address") { const a = ethers.getAddress(ethers.hexlify(bytes(20))); return [a, a]; }
  if (t === "bool") { const b = (next() & 1n) === 1n; return [b, b]; }
  if (t === "string") {
    const chars = "abc xyz é 中 🚀";
    const s = Array.from({ length: below(40) }, () => [...chars][below([...chars].length)]).join("");
    return [s, s];
  }
  if (t === "bytes") { const b = ethers.hexlify(bytes(below(70))); return [b, b]; }
  const b = ethers.hexlify(bytes(Number(t.slice(5)))); return [b, b];
}

const coder = ethers.AbiCoder.defaultAbiCoder();
for (let i = 0; i < n; i++) {
  const types = Array.from({ length: 1 + below(4) }, () => randomType(0));
  const vals = types.map(randomValue);
  const canonical = types.map((t) => ethers.ParamType.from(t).format("sighash"));
  const encoded = coder.encode(types, vals.map((v) => v[0]));
  console.log(JSON.stringify({ op: "abi", types: canonical, values: vals.map((v) => v[1]), encoded }));
}
