// Promises signed on the worker pool are byte for byte those PromiseSigner signs on the event loop (RFC 8032
// Ed25519 is deterministic), verify under the ledger's key with the device's noble check, and keep the
// closed-period log origin when one is asked for; a pool that fails falls back to the event loop.
import t from 'tap';
import { decodeInclusionPromise, fromHex, generateKeyPair, splitSigned, utf8, verifyRecord } from '@meterseal/protocol';
import { PromiseIssuer, type PromiseRequest } from './ingest-promises.js';
import { PromiseSigner } from './promise.js';
import { VerifyPool } from './verify-pool.js';

const keys = generateKeyPair();
const deps = { keys, config: { origin: 'test.example/ledger', maxMergeDelayMs: 60_000 } } as unknown as ConstructorParameters<typeof PromiseIssuer>[0];

function requests(n: number): PromiseRequest[] {
  return Array.from({ length: n }, (_, i) => ({
    subject: { meterId: `M-${i % 3}`, seq: BigInt(i + 1), readingHash: new Uint8Array(32).fill(i), signed: utf8.encode(`signed anchor ${i}`) },
    leafIndex: BigInt(100 + i),
    ...(i === 5 ? { logOrigin: 'test.example/ledger/2026-10' } : {}),
  }));
}

t.test('pool-signed promises equal the event loop\'s and verify under the ledger key', async (t) => {
  const pool = new VerifyPool(2);
  t.teardown(() => pool.close());
  const onPool = new PromiseIssuer(deps, pool, 1);
  const inline = new PromiseIssuer(deps);
  const built = onPool.build(requests(40));
  t.equal(built[5]!.logOrigin, 'test.example/ledger/2026-10', 'a closed period\'s origin is kept');
  t.equal(built[6]!.logOrigin, 'test.example/ledger');
  const fromPool = await onPool.sign(built);
  const signer = new PromiseSigner(keys.secretKey, 'test.example/ledger', 60_000);
  t.same(fromPool, built.map((p) => signer.signHex(p)), 'same bytes as PromiseSigner.signHex');
  t.same(await inline.sign(built), fromPool, 'same bytes as the inline issuer');
  for (const [i, hex] of fromPool.entries()) {
    const { record, signature } = splitSigned(fromHex(hex));
    if (!verifyRecord(record, signature, keys.publicKey)) t.fail(`promise ${i} does not verify`);
    t.same(decodeInclusionPromise(record), built[i], `promise ${i} decodes to what was built`);
  }
  const other = generateKeyPair();
  const otherIssuer = new PromiseIssuer({ ...deps, keys: other } as typeof deps, pool, 1);
  const [again] = await otherIssuer.sign(built.slice(0, 1));
  const { record, signature } = splitSigned(fromHex(again!));
  t.ok(verifyRecord(record, signature, other.publicKey), 'a second key on the same pool is sent to the workers and used');
});

t.test('a failing pool: the promises are signed on the event loop instead', async (t) => {
  const errors: unknown[] = [];
  const failing = { size: 1, sign: async () => Promise.reject(new Error('worker died')) } as unknown as VerifyPool;
  const issuer = new PromiseIssuer(deps, failing, 1, (err) => errors.push(err));
  const built = issuer.build(requests(3));
  const signer = new PromiseSigner(keys.secretKey, 'test.example/ledger', 60_000);
  t.same(await issuer.sign(built), built.map((p) => signer.signHex(p)));
  t.equal(errors.length, 1, 'the failure is reported');
});
