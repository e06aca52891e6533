// A deterministic generator (xorshift64*) for the cross-check scripts: a failure replays from its seed.
function makeRandom(seedValue) {
  let seed = BigInt(seedValue || 1);
  const next = () => {
    seed ^= seed << 13n; seed &= (1n << 64n) - 1n;
    seed ^= seed >> 7n;
    seed ^= seed << 17n; seed &= (1n << 64n) - 1n;
    return seed;
  };
  const bytes = (len) => { const b = new Uint8Array(len); for (let i = 0; i < len; i++) b[i] = Number(next() & 0xffn); return b; };
  const upTo = (bits) => { let v = 0n; for (let i = 0; i < Math.ceil(bits / 64); i++) v = (v << 64n) | next(); return v & ((1n << BigInt(bits)) - 1n); };
  const below = (k) => Number(next() % BigInt(k));
  const pick = (xs) => xs[below(xs.length)];
  return { next, bytes, upTo, below, pick };
}

module.exports = { makeRandom };
