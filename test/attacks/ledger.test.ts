// Scripted attacks by the ledger's operator (T-L1): history rewritten (a changed leaf; truncated and regrown)
// and a split view. Detected by the standalone witness (witness/, C2SP tlog-witness) against a real ledger,
// which refuses and keeps the log-signed evidence, and by the collector's reconciliation acting as a witness.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { parseCheckpointText, parseNote, signCheckpoint } from '@meterseal/protocol';
import { formatAddCheckpointRequest } from '@meterseal/witness';
import { deliver, ledgerProof, located, makeReading, post, startGrowingLedger, startTestWitness, startWorld } from './harness.js';

const head = (note: string) => parseCheckpointText(parseNote(note).text);

t.test('T-L1: a changed leaf (rewritten history) is refused by the witness and kept as evidence', async (t) => {
  const L = await startGrowingLedger(t);
  const W = await startTestWitness(t, L.ledger);
  const cp1 = await L.grow(3);
  const n1 = head(cp1).size;
  t.equal((await post(W.url, formatAddCheckpointRequest(0n, [], cp1))).status, 200, 'the honest checkpoint is cosigned');
  const cp2 = await L.grow(2);
  const n2 = head(cp2).size;
  // the operator signs, with the real ledger key, a tree of the same size in which one old leaf was changed
  const rewritten = signCheckpoint({ origin: L.ledger.origin, size: n2, root: new Uint8Array(randomBytes(32)), extensions: [] }, L.signer());
  const r = await post(W.url, formatAddCheckpointRequest(n1, await ledgerProof(L.ledger.httpUrl, n1, n2), rewritten));
  t.equal(r.status, 422, r.text);
  t.match(r.text, /BAD_PROOF/);
  t.equal(W.latest(L.ledger.origin)?.size, n1, 'the witness did not move to the rewritten tree');
  const ev = W.evidence(L.ledger.origin);
  t.match(ev, [{ reason: 'BAD_PROOF' }]);
  t.ok(ev[0]!.request.endsWith(rewritten), 'the log-signed rewritten checkpoint is kept as evidence');
});

t.test('T-L1: truncated and regrown history is refused by the witness (rollback, then a different root)', async (t) => {
  const L = await startGrowingLedger(t);
  const W = await startTestWitness(t, L.ledger);
  const cp = await L.grow(4);
  const n = head(cp).size;
  t.equal((await post(W.url, formatAddCheckpointRequest(0n, [], cp))).status, 200);
  // truncated: a smaller tree than the one cosigned
  const truncated = signCheckpoint({ origin: L.ledger.origin, size: n - 2n, root: new Uint8Array(randomBytes(32)), extensions: [] }, L.signer());
  const a = await post(W.url, formatAddCheckpointRequest(n - 2n, [], truncated));
  t.not(a.status, 200, `the truncated tree is not cosigned (${a.status})`);
  t.notMatch(a.text, /\u2014/, 'no cosignature line');
  // regrown to the cosigned size with other leaves: same size, another root
  const regrown = signCheckpoint({ origin: L.ledger.origin, size: n, root: new Uint8Array(randomBytes(32)), extensions: [] }, L.signer());
  const b = await post(W.url, formatAddCheckpointRequest(n, [], regrown));
  t.equal(b.status, 409);
  t.match(b.text, /ROOT_MISMATCH/);
  t.ok(W.evidence(L.ledger.origin).some((e) => e.reason === 'ROOT_MISMATCH' && e.request.endsWith(regrown)), 'the regrown checkpoint is kept as evidence');
  t.equal(W.latest(L.ledger.origin)?.size, n);
});

t.test('T-L1: a split view (different checkpoints to two witnesses) is detected when the views meet', async (t) => {
  const L = await startGrowingLedger(t);
  const A = await startTestWitness(t, L.ledger);
  const B = await startTestWitness(t, L.ledger, 'attacks.test/w2');
  const honest = await L.grow(3);
  const n = head(honest).size;
  const other = signCheckpoint({ origin: L.ledger.origin, size: n, root: new Uint8Array(randomBytes(32)), extensions: [] }, L.signer());
  t.equal((await post(A.url, formatAddCheckpointRequest(0n, [], honest))).status, 200, 'witness A cosigns the view it was shown');
  t.equal((await post(B.url, formatAddCheckpointRequest(0n, [], other))).status, 200, 'witness B, knowing nothing yet, cosigns the other view');
  // gossip: B's view shown to A (and A's to B) is refused as a same-size root mismatch, and both keep it
  const toA = await post(A.url, formatAddCheckpointRequest(n, [], other));
  const toB = await post(B.url, formatAddCheckpointRequest(n, [], honest));
  t.equal(toA.status, 409);
  t.match(toA.text, /ROOT_MISMATCH/);
  t.equal(toB.status, 409);
  t.match(A.evidence(L.ledger.origin), [{ reason: 'ROOT_MISMATCH' }], 'A keeps the other view, signed by the log, as evidence');
  t.match(B.evidence(L.ledger.origin), [{ reason: 'ROOT_MISMATCH' }], 'B keeps A\'s view as evidence');
});

t.test("T-L1: the collector's reconciliation reports a rewritten and a truncated-regrown ledger as a witness alarm", async (t) => {
  const w = await startWorld(t);
  const { meter, client } = await w.meter('ATK-LEDGER-01');
  for (let seq = 1n; seq <= 6n; seq++) {
    const d = deliver(meter, makeReading(meter.meterId, seq));
    w.ledger.anchor(meter, d);
    t.match(await client.deliver(seq, d.payload), { ok: true });
  }
  const first = await w.reconcile();
  t.not(first.outcome, 'alarm', 'the honest ledger raises no alarm');
  t.same(located(first, meter.meterId), [], 'every reading matched');
  t.not(first.witness?.status, 'alarm');

  w.ledger.rewriteFrom(3); // leaves 3.. changed, same size
  const rewritten = await w.reconcile();
  t.equal(rewritten.outcome, 'alarm', 'a changed leaf raises the alarm');
  t.match(rewritten.witness, { status: 'alarm', alarm: { code: /^(FORK|INCONSISTENT)$/ } });

  const w2 = await startWorld(t);
  const m2 = await w2.meter('ATK-LEDGER-02');
  const ds = [1n, 2n, 3n, 4n].map((seq) => deliver(m2.meter, makeReading(m2.meter.meterId, seq)));
  for (const d of ds.slice(0, 3)) w2.ledger.anchor(m2.meter, d);
  t.equal((await w2.reconcile()).witness?.status, 'first');
  w2.ledger.truncate(1);
  const shrunk = await w2.reconcile();
  t.equal(shrunk.outcome, 'alarm', 'a truncated ledger raises the alarm');
  t.match(shrunk.witness, { status: 'alarm', alarm: { code: 'TREE_SHRANK' } });
  // regrown past the cosigned size with other leaves
  for (const d of [ds[3]!, deliver(m2.meter, makeReading(m2.meter.meterId, 5n)), deliver(m2.meter, makeReading(m2.meter.meterId, 6n))]) w2.ledger.anchor(m2.meter, d);
  const regrown = await w2.reconcile();
  t.equal(regrown.outcome, 'alarm', 'truncated and regrown is still an alarm');
  t.match(regrown.witness, { status: 'alarm', alarm: { code: /^(FORK|INCONSISTENT)$/ } });
});
