// SHA-256 (FIPS 180-4) in plain JavaScript, for the proof of work on join (pow_worker.js).
// The page cannot count on crypto.subtle: browsers offer it only in secure contexts (https,
// localhost), and it is asynchronous, which costs more than the hash itself for the short
// messages a solver hashes millions of times. Solver hashes CHALLENGE || NONCE from the
// challenge's midstate (its whole 64-byte blocks are compressed once), so each try costs one
// or two compressions. Works in a page, a worker and Node (module.exports), where
// tests/gateway/sha256_test.js checks it against known vectors.
'use strict';

(function (root) {
  // The constants are derived rather than typed in: the first 32 bits of the fractional parts
  // of the square roots of the first 8 primes (IV) and of the cube roots of the first 64 (K).
  // Doubles carry enough bits for that; the test vectors would catch a wrong one.
  function primes(n) {
    const out = [];
    for (let c = 2; out.length < n; c++) {
      if (out.every((p) => c % p !== 0)) out.push(c);
    }
    return out;
  }
  const frac32 = (x) => ((x - Math.floor(x)) * 4294967296) | 0;
  const IV = Int32Array.from(primes(8), (p) => frac32(Math.sqrt(p)));
  const K = Int32Array.from(primes(64), (p) => frac32(Math.cbrt(p)));

  const W = new Int32Array(64);

  // Compresses the 64 bytes of `bytes` at `offset` into the state `H` (8 words, in place).
  function compress(H, bytes, offset) {
    for (let t = 0; t < 16; t++) {
      const i = offset + 4 * t;
      W[t] = (bytes[i] << 24) | (bytes[i + 1] << 16) | (bytes[i + 2] << 8) | bytes[i + 3];
    }
    for (let t = 16; t < 64; t++) {
      const x = W[t - 15];
      const y = W[t - 2];
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      W[t] = (W[t - 16] + s0 + W[t - 7] + s1) | 0;
    }
    let a = H[0], b = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
    for (let t = 0; t < 64; t++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (h + S1 + ch + K[t] + W[t]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0;
      d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    H[0] = (H[0] + a) | 0; H[1] = (H[1] + b) | 0; H[2] = (H[2] + c) | 0; H[3] = (H[3] + d) | 0;
    H[4] = (H[4] + e) | 0; H[5] = (H[5] + f) | 0; H[6] = (H[6] + g) | 0; H[7] = (H[7] + h) | 0;
  }

  // Pads `tail` (the bytes after the last whole block, `length` bytes in `buf`) for a message
  // of `total` bytes; returns the padded length (64 or 128).
  function pad(buf, length, total) {
    buf[length] = 0x80;
    const padded = length + 9 <= 64 ? 64 : 128;
    buf.fill(0, length + 1, padded);
    const bits = total * 8;
    const high = Math.floor(bits / 4294967296);
    for (let i = 0; i < 4; i++) {
      buf[padded - 8 + i] = (high >>> (24 - 8 * i)) & 255;
      buf[padded - 4 + i] = (bits >>> (24 - 8 * i)) & 255;
    }
    return padded;
  }

  function toBytes(message) {
    if (typeof message === 'string') return new TextEncoder().encode(message);
    return message;
  }

  function digestOf(H) {
    const out = new Uint8Array(32);
    for (let i = 0; i < 8; i++) {
      out[4 * i] = H[i] >>> 24; out[4 * i + 1] = H[i] >>> 16;
      out[4 * i + 2] = H[i] >>> 8; out[4 * i + 3] = H[i];
    }
    return out;
  }

  // SHA-256 of a string (as UTF-8) or a Uint8Array: 32 bytes.
  function sha256(message) {
    const bytes = toBytes(message);
    const H = Int32Array.from(IV);
    const whole = bytes.length - (bytes.length % 64);
    for (let i = 0; i < whole; i += 64) compress(H, bytes, i);
    const buf = new Uint8Array(128);
    buf.set(bytes.subarray(whole));
    const padded = pad(buf, bytes.length - whole, bytes.length);
    for (let i = 0; i < padded; i += 64) compress(H, buf, i);
    return digestOf(H);
  }

  function hex(bytes) {
    return Array.from(bytes, (x) => x.toString(16).padStart(2, '0')).join('');
  }

  // Leading zero bits of a digest's first word (32 when it is zero: enough for any difficulty
  // the gateway asks, at most 32).
  function zeroBitsOfWord(word) {
    return word === 0 ? 32 : Math.clz32(word);
  }

  // Hashes CHALLENGE || NONCE for many nonces, from the challenge's midstate.
  class Solver {
    constructor(challenge) {
      const bytes = toBytes(challenge);
      this.length = bytes.length;
      this.whole = bytes.length - (bytes.length % 64);
      this.mid = Int32Array.from(IV);
      for (let i = 0; i < this.whole; i += 64) compress(this.mid, bytes, i);
      this.rest = bytes.subarray(this.whole);
      // The rest of the challenge, a nonce of at most 32 bytes and the padding fit in 128.
      this.buf = new Uint8Array(128 + 64);
      this.H = new Int32Array(8);
    }

    // The state after hashing CHALLENGE || nonce (an ASCII string): H[0] is the first word.
    hashState(nonce) {
      const buf = this.buf;
      buf.set(this.rest);
      let n = this.rest.length;
      for (let i = 0; i < nonce.length; i++) buf[n++] = nonce.charCodeAt(i);
      const padded = pad(buf, n, this.length + nonce.length);
      const H = this.H;
      H.set(this.mid);
      for (let i = 0; i < padded; i += 64) compress(H, buf, i);
      return H;
    }

    // The leading zero bits of SHA-256(CHALLENGE || nonce), up to 32.
    zeroBits(nonce) {
      return zeroBitsOfWord(this.hashState(nonce)[0]);
    }

    digest(nonce) {
      return digestOf(this.hashState(nonce));
    }
  }

  const api = { sha256, hex, Solver };
  root.AdmissionSha256 = api;
  if (typeof module !== 'undefined' && module.exports) module.exports = api;
})(typeof self !== 'undefined' ? self : globalThis);
