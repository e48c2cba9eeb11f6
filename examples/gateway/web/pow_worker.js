// Solves the proof of work on join (docs/gateway.md, "Proof of work on join") off the page's
// main thread, so that the page stays responsive while it hashes. Message in:
// {challenge, difficulty}; out: {type:'progress', hashes} now and then, and finally
// {type:'done', nonce, hashes, ms}. The nonce is the first decimal number n such that
// SHA-256(challenge || n) has `difficulty` leading zero bits: about 2^difficulty tries.
'use strict';

importScripts('/static/sha256.js');

// Progress goes out every this many hashes (a few times a second on a phone).
const kReportEvery = 1 << 14;

self.onmessage = (event) => {
  const { challenge, difficulty } = event.data;
  const solver = new self.AdmissionSha256.Solver(challenge);
  const start = performance.now();
  for (let n = 0; ; n++) {
    const nonce = String(n);
    if (solver.zeroBits(nonce) >= difficulty) {
      self.postMessage({ type: 'done', nonce, hashes: n + 1, ms: performance.now() - start });
      return;
    }
    if (n % kReportEvery === kReportEvery - 1) self.postMessage({ type: 'progress', hashes: n + 1 });
  }
};
