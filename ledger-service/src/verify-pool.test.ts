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

t.test('signing: the same bytes as the protocol signer, and not queued behind pending verifications', async (t) => {
  const pool = new VerifyPool(1);
  t.teardown(() => pool.close());
  const ledger = generateKeyPair();
  // RFC 8410 §7 PKCS #8 PrivateKeyInfo of the seed (as ingest-promises.ts builds it)
  const pkcs8 = new Uint8Array([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20, ...ledger.secretKey]);
  const messages = Array.from({ length: 5 }, (_, i) => utf8.encode(`MeterSeal-v1\0promise ${i}`));
  t.same(await pool.sign(pkcs8, messages), messages.map((m) => sign(m, ledger.secretKey)));
  const k = generateKeyPair();
  const jobs = Array.from({ length: 640 }, (_, i) => {
    const message = utf8.encode(`m ${i}`);
    return { publicKey: k.publicKey, message, signature: sign(message, k.secretKey) };
  });
  const order: string[] = [];
  const verified = pool.verify(jobs).then((r) => (order.push('verify'), r));
  const signed = pool.sign(pkcs8, messages).then((r) => (order.push('sign'), r));
  t.ok((await verified).every((x) => x));
  await signed;
  t.same(order, ['sign', 'verify'], 'the signing job, posted after 640 verifications, is answered first');
});
