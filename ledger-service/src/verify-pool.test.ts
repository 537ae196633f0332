// The worker pool gives exactly the answers of verifyNative on the event loop (protocol/src/ed25519.ts).
import t from 'tap';
import { generateKeyPair, nativePublicKey, sign, utf8 } from '@meterseal/protocol';
import { VerifyPool, verifyInline, type VerifyJob } from './verify-pool.js';

t.test('the pool and verifyNative agree on every job, in job order', async (t) => {
  const keys = Array.from({ length: 5 }, () => generateKeyPair());
  const jobs: VerifyJob[] = [];
  for (let i = 0; i < 120; i++) {
    const k = keys[i % keys.length]!;
    const message = utf8.encode(`MeterSeal-v1\0message ${i}`);
    let signature = sign(message, k.secretKey);
    if (i % 7 === 1) signature = sign(message, keys[(i + 1) % keys.length]!.secretKey); // another key's signature
    if (i % 11 === 2) signature = Uint8Array.from(signature, (b, j) => (j === 5 ? b ^ 1 : b)); // a flipped bit
    if (i % 13 === 3) signature = signature.slice(0, 63); // too short: never verifies
    if (i % 17 === 4) signature = new Uint8Array([...signature, 0]); // too long
    jobs.push({ publicKey: k.publicKey, message, signature });
  }
  const expected = verifyInline(jobs, (k) => nativePublicKey(k));
  t.ok(expected.some((x) => x) && expected.some((x) => !x), 'both outcomes are present');
  const pool = new VerifyPool(3, 2); // a key capacity of 2 forces the workers to forget and relearn keys
  t.teardown(() => pool.close());
  t.same(await pool.verify(jobs), expected);
  t.same(await pool.verify(jobs.slice(0, 2)), expected.slice(0, 2), 'fewer jobs than workers');
  t.same(await pool.verify([]), []);
  t.same(await pool.verify(jobs.reverse()), [...expected].reverse(), 'again, with the keys already sent');
});

t.test('a worker that died is replaced on the next call', async (t) => {
  const pool = new VerifyPool(1);
  t.teardown(() => pool.close());
  const k = generateKeyPair();
  const message = utf8.encode('m');
  const job = { publicKey: k.publicKey, message, signature: sign(message, k.secretKey) };
  t.same(await pool.verify([job]), [true]);
  await (pool as unknown as { workers: { worker: { terminate(): Promise<number> } }[] }).workers[0]!.worker.terminate();
  t.same(await pool.verify([job]), [true], 'a fresh worker');
});
