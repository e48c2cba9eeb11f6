// The page's SHA-256 (examples/gateway/web/sha256.js) against the FIPS 180-2 example vectors,
// against Node's own SHA-256 for every length around the block boundaries, and its Solver
// (hashing from a challenge's midstate) against a whole hash of CHALLENGE || NONCE.
//   node tests/gateway/sha256_test.js examples/gateway/web/sha256.js
'use strict';

const assert = require('assert');
const crypto = require('crypto');
const path = require('path');

const S = require(path.resolve(process.argv[2]));
const reference = (m) => crypto.createHash('sha256').update(m).digest('hex');

const vectors = [
  ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
  ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq',
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
  ['a'.repeat(1000000), 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0'],
];
for (const [message, digest] of vectors) {
  assert.strictEqual(S.hex(S.sha256(message)), digest, 'SHA-256 of ' + message.slice(0, 20));
}
// Every length over three blocks, so that each padding case (one block, two) is met.
for (let n = 0; n <= 200; n++) {
  const message = Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + n) & 255));
  assert.strictEqual(S.hex(S.sha256(new Uint8Array(message))), reference(message), 'length ' + n);
}
// The solver: challenges of several lengths (a midstate of 0, 1 and 2 blocks), nonces of
// 1..32 characters.
for (const length of [10, 55, 63, 64, 100, 150, 171]) {
  const challenge = 'c'.repeat(length);
  const solver = new S.Solver(challenge);
  for (const nonce of ['0', '7', '12345', '9'.repeat(20), 'x'.repeat(32)]) {
    const want = reference(challenge + nonce);
    assert.strictEqual(S.hex(solver.digest(nonce)), want, length + '/' + nonce);
    assert.strictEqual(solver.zeroBits(nonce), Math.min(32, Math.clz32(parseInt(want.slice(0, 8), 16))));
  }
}
console.log('sha256.js: all vectors pass');
