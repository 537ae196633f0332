// The feeder between a REAL ledger and a witness: first checkpoint, growth, recovery from a stale size
// (409), cosignature verification, and refusals surfaced as typed errors.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { countWitnesses, encodeCosignatureVerifierKey, generateKeyPair, parseCosignatureVerifierKey, signCheckpoint } from '@meterseal/protocol';
import { feedWitness, submitToWitness, type FeederState } from './feeder.js';
import { ledgerProof, startGrowingLedger, startTestWitness } from './testing/harness.js';

t.test('feeds the ledger\'s checkpoints to the witness and returns verifiable cosignatures', async (t) => {
  const L = await startGrowingLedger(t);
  const W = await startTestWitness(t, L.ledger);
  const v = parseCosignatureVerifierKey(W.verifierKey);
  const state: FeederState = {};
  const feed = () => feedWitness({ ledgerUrl: L.ledger.httpUrl, witnessUrl: W.url, state, witnessVerifierKey: W.verifierKey });

  await L.grow(2);
  const r1 = await feed();
  t.match(r1.cosignature, /^\u2014 witness\.test\/w1 \S+\n$/);
  t.equal(r1.cosignedNote, r1.checkpoint + r1.cosignature);
  t.equal(countWitnesses(r1.cosignedNote, [v]), 1);
  t.equal(state.witnessSize, r1.size);

  await L.grow(3);
  const r2 = await feed();
  t.ok(r2.size > r1.size, 'grew, with a consistency proof from the ledger');
  t.equal(W.latest(L.ledger.origin)?.size, r2.size);
  t.equal((await feed()).size, r2.size, 'nothing new: the same size is cosigned again');

  // A feeder that lost its state (or another feeder's) recovers through the witness's 409.
  await L.grow(1);
  const lost: FeederState = {};
  const r3 = await feedWitness({ ledgerUrl: L.ledger.httpUrl, witnessUrl: W.url, state: lost });
  t.equal(lost.witnessSize, r3.size);
  const wrong: FeederState = { witnessSize: 2n };
  t.equal((await feedWitness({ ledgerUrl: L.ledger.httpUrl, witnessUrl: W.url, state: wrong })).size, r3.size, 'a wrong size too');

  // In-process: the ledger hands its own checkpoint and proofs to submitToWitness.
  await L.grow(2);
  const source = { latest: () => L.ledger.checkpointNow(), consistencyProof: (a: bigint, b: bigint) => ledgerProof(L.ledger.httpUrl, a, b) };
  const r4 = await submitToWitness({ source, witnessUrl: W.url, state, witnessVerifierKey: W.verifierKey });
  t.ok(r4.size > r3.size);
  t.equal(state.witnessSize, r4.size);
});

t.test('refusals and unusable answers are typed errors', async (t) => {
  const L = await startGrowingLedger(t);
  const W = await startTestWitness(t, L.ledger);
  await L.grow(2);
  const state: FeederState = {};
  await feedWitness({ ledgerUrl: L.ledger.httpUrl, witnessUrl: W.url, state });

  const otherKey = encodeCosignatureVerifierKey('witness.test/w1', generateKeyPair().publicKey);
  await t.rejects(feedWitness({ ledgerUrl: L.ledger.httpUrl, witnessUrl: W.url, state, witnessVerifierKey: otherKey }),
    { code: 'FEED_FAILED', message: /no valid cosignature/ }, 'a cosignature by another key is not accepted');

  await t.rejects(feedWitness({ ledgerUrl: L.ledger.httpUrl, witnessUrl: W.url, state: { witnessSize: (state.witnessSize ?? 0n) + 50n } }),
    { code: 'WITNESS_AHEAD' });

  // A "ledger" that serves a forked checkpoint (signed with the real key) and a proof: the witness refuses.
  const cp = await L.grow(2);
  const size = BigInt(cp.split('\n')[1]!);
  const forged = signCheckpoint({ origin: L.ledger.origin, size, root: new Uint8Array(randomBytes(32)), extensions: [] }, L.signer());
  const proofRes = await (await fetch(`${L.ledger.httpUrl}/v1/proof/consistency?from=${state.witnessSize}&to=${size}`)).text();
  const evil = createServer((req, res) => res.end(req.url!.startsWith('/checkpoint') ? forged : proofRes));
  await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => evil.close(() => r())));
  const evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}`;
  await t.rejects(feedWitness({ ledgerUrl: evilUrl, witnessUrl: W.url, state }), { code: 'WITNESS_REFUSED', message: /HTTP 422/ });
  t.equal(W.evidence(L.ledger.origin).length, 1, 'the witness kept the forged checkpoint');

  await t.rejects(feedWitness({ ledgerUrl: evilUrl.replace(/:\d+$/, ':1'), witnessUrl: W.url }), { code: 'FEED_FAILED' }, 'ledger unreachable');
});
