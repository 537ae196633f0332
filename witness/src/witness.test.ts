// POST /add-checkpoint against a REAL ledger (ledger-service on ephemeral ports, a real meter client
// appending anchors): cosigning, and every refusal of c2sp.org/tlog-witness with its status.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  countWitnesses, generateKeyPair, noteSigner, parseCheckpointText, parseCosignatureVerifierKey, parseNote,
  signCheckpoint, verifyCosignature,
} from '@meterseal/protocol';
import { formatAddCheckpointRequest } from './request.js';
import { MAX_REQUEST_BYTES } from './request.js';
import { ledgerProof, post, startGrowingLedger, startTestWitness } from './testing/harness.js';

const sizeOf = (note: string) => parseCheckpointText(parseNote(note).text);
const NOW = Date.UTC(2026, 10, 21, 12, 0, 0);

t.test('happy path: first checkpoint (old 0), then growth with a real consistency proof from the ledger', async (t) => {
  const L = await startGrowingLedger(t);
  const W = await startTestWitness(t, L.ledger, { now: () => NOW });
  t.equal(readFileSync(join(W.dataDir, 'witness.vkey'), 'utf8'), `${W.verifierKey}\n`, 'witness.vkey published');
  const v = parseCosignatureVerifierKey(W.verifierKey);

  const cp1 = await L.grow(2);
  const r1 = await post(W.url, formatAddCheckpointRequest(0n, [], cp1));
  t.equal(r1.status, 200, r1.text);
  t.match(r1.type, /^text\/plain/);
  t.match(r1.text, /^\u2014 witness\.test\/w1 [A-Za-z0-9+/]+=*\n$/, 'one cosignature line');
  t.same(verifyCosignature(cp1 + r1.text, v), { timestamp: BigInt(NOW / 1000) }, 'cosignature/v1 over the checkpoint, timestamped');
  const n1 = sizeOf(cp1).size;
  t.equal(W.latest(L.ledger.origin)?.size, n1, 'state persisted');

  const cp2 = await L.grow(5);
  const n2 = sizeOf(cp2).size;
  const proof = await ledgerProof(L.ledger.httpUrl, n1, n2);
  t.ok(proof.length > 0);
  const r2 = await post(W.url, formatAddCheckpointRequest(n1, proof, cp2), { 'content-type': 'text/plain' });
  t.equal(r2.status, 200, r2.text);
  t.equal(countWitnesses(cp2 + r2.text, [v]), 1);
  t.equal(W.latest(L.ledger.origin)?.size, n2);

  const again = await post(W.url, formatAddCheckpointRequest(n2, [], cp2));
  t.equal(again.status, 200, 'the same checkpoint again is cosigned again (same size, same root, empty proof)');
  t.same(W.evidence(L.ledger.origin), []);
});

t.test('T-L1: a forked history signed by the ledger key is refused with 422, not cosigned, and kept as evidence', async (t) => {
  const L = await startGrowingLedger(t);
  const W = await startTestWitness(t, L.ledger);
  const cp1 = await L.grow(3);
  const n1 = sizeOf(cp1).size;
  t.equal((await post(W.url, formatAddCheckpointRequest(0n, [], cp1))).status, 200);

  // The ledger grows honestly to n2; the operator signs a different root at n2 with the real ledger key.
  const cp2 = await L.grow(4);
  const real = sizeOf(cp2);
  const forged = signCheckpoint({ origin: L.ledger.origin, size: real.size, root: new Uint8Array(randomBytes(32)), extensions: [] }, L.signer());
  const proof = await ledgerProof(L.ledger.httpUrl, n1, real.size);
  const r = await post(W.url, formatAddCheckpointRequest(n1, proof, forged));
  t.equal(r.status, 422, r.text);
  t.match(r.text, /BAD_PROOF: consistency proof from size \d+ to \d+ does not verify; not cosigned/);
  t.notMatch(r.text, /\u2014/, 'no cosignature line');
  t.equal(W.latest(L.ledger.origin)?.size, n1, 'the state did not move');
  const ev = W.evidence(L.ledger.origin);
  t.equal(ev.length, 1);
  t.match(ev[0], { reason: 'BAD_PROOF' });
  t.ok(ev[0]!.request.endsWith(forged), 'the log-signed forged checkpoint is kept');

  // A rewritten history at a larger size with a made-up proof, too.
  const bigger = signCheckpoint({ origin: L.ledger.origin, size: real.size + 10n, root: new Uint8Array(32).fill(9), extensions: [] }, L.signer());
  t.equal((await post(W.url, formatAddCheckpointRequest(n1, proof, bigger))).status, 422);

  // Same size as the cosigned one, another root: c2sp.org/tlog-witness says 409 (a split view, evidence too).
  const sameSize = signCheckpoint({ origin: L.ledger.origin, size: n1, root: new Uint8Array(32).fill(1), extensions: [] }, L.signer());
  const s = await post(W.url, formatAddCheckpointRequest(n1, [], sameSize));
  t.equal(s.status, 409);
  t.match(s.text, /ROOT_MISMATCH/);
  t.notMatch(s.type, /x\.tlog\.size/, 'not a size answer: retrying cannot help');
  t.same(W.evidence(L.ledger.origin).map((e) => e.reason), ['BAD_PROOF', 'BAD_PROOF', 'ROOT_MISMATCH']);

  // The honest checkpoint is still cosigned afterwards.
  t.equal((await post(W.url, formatAddCheckpointRequest(n1, proof, cp2))).status, 200);
});

t.test('old size mismatch → 409 text/x.tlog.size with the cosigned size; rollback → 400', async (t) => {
  const L = await startGrowingLedger(t);
  const W = await startTestWitness(t, L.ledger);
  const cp1 = await L.grow(2);
  const n1 = sizeOf(cp1).size;
  t.equal((await post(W.url, formatAddCheckpointRequest(0n, [], cp1))).status, 200);
  const cp2 = await L.grow(3);
  const n2 = sizeOf(cp2).size;

  const stale = await post(W.url, formatAddCheckpointRequest(0n, [], cp2));
  t.same(stale, { status: 409, type: 'text/x.tlog.size', text: `${n1}\n` }, 'old 0 after a cosignature');
  const wrong = await post(W.url, formatAddCheckpointRequest(n1 - 1n, await ledgerProof(L.ledger.httpUrl, n1 - 1n, n2), cp2));
  t.same(wrong, { status: 409, type: 'text/x.tlog.size', text: `${n1}\n` });
  t.equal((await post(W.url, formatAddCheckpointRequest(n1, await ledgerProof(L.ledger.httpUrl, n1, n2), cp2))).status, 200);

  // Rollback: the older checkpoint cp1 after cp2 was cosigned.
  t.equal((await post(W.url, formatAddCheckpointRequest(n2, [], cp1))).status, 400, 'old > checkpoint size is malformed');
  t.same(await post(W.url, formatAddCheckpointRequest(n1, [], cp1)), { status: 409, type: 'text/x.tlog.size', text: `${n2}\n` });
  t.equal(W.latest(L.ledger.origin)?.size, n2, 'never rolled back');
});

t.test('unknown origin → 404; not signed by the log key → 403', async (t) => {
  const L = await startGrowingLedger(t);
  const W = await startTestWitness(t, L.ledger);
  const cp = await L.grow(1);
  const c = sizeOf(cp);

  const other = noteSigner('other.example/log', generateKeyPair().secretKey);
  const unknown = await post(W.url, formatAddCheckpointRequest(0n, [], signCheckpoint({ ...c, origin: 'other.example/log' }, other)));
  t.equal(unknown.status, 404, unknown.text);
  t.match(unknown.text, /UNKNOWN_ORIGIN/);

  const impostor = noteSigner(L.ledger.origin, generateKeyPair().secretKey); // the right name, another key
  const r = await post(W.url, formatAddCheckpointRequest(0n, [], signCheckpoint(c, impostor)));
  t.equal(r.status, 403, r.text);
  t.match(r.text, /BAD_SIGNATURE/);
  const tampered = cp.replace(`\n${c.size}\n`, `\n${c.size + 1n}\n`);
  t.equal((await post(W.url, formatAddCheckpointRequest(0n, [], tampered))).status, 403, 'a changed body breaks the ledger signature');
  t.equal(W.latest(L.ledger.origin), null, 'nothing cosigned');
  t.same(W.evidence(L.ledger.origin), [], 'unsigned requests are not evidence');
  t.equal((await post(W.url, formatAddCheckpointRequest(0n, [], `${cp}\u2014 other.example/log ${Buffer.alloc(68, 2).toString('base64')}\n`))).status, 200,
    'signatures by unknown keys are ignored');
});

t.test('malformed bodies → 400, oversize → 413, and the witness keeps working', async (t) => {
  const L = await startGrowingLedger(t);
  const W = await startTestWitness(t, L.ledger);
  const cp = await L.grow(1);
  for (const bad of ['', 'old 0', 'old 0\n', `old 00\n\n${cp}`, `old 0\n!!\n\n${cp}`, `old 0\nAAAA\n\n${cp}`, `old 0\n\n${cp.slice(0, 20)}`, '\u0000\u00ff\n\n']) {
    const r = await post(W.url, bad);
    t.equal(r.status, 400, JSON.stringify(bad.slice(0, 30)));
    t.match(r.text, /^MALFORMED: /);
  }
  t.equal((await post(W.url, new Uint8Array([0xff, 0xfe, 0x0a, 0x0a]), { 'content-type': 'application/octet-stream' })).status, 400);
  t.equal((await post(W.url, 'x'.repeat(MAX_REQUEST_BYTES + 1))).status, 413);
  t.equal((await fetch(`${W.url}/add-checkpoint`)).status, 404, 'GET is not a route');
  t.equal((await post(W.url, formatAddCheckpointRequest(0n, [], cp))).status, 200, 'still working');
});

t.test('concurrent submissions never roll the witness back', async (t) => {
  const L = await startGrowingLedger(t);
  const W = await startTestWitness(t, L.ledger);
  const cps = [await L.grow(1), await L.grow(1), await L.grow(1), await L.grow(1)];
  const sizes = cps.map((c) => sizeOf(c).size);
  t.equal((await post(W.url, formatAddCheckpointRequest(0n, [], cps[0]!))).status, 200);
  // From the same old size, every later checkpoint at once: exactly one wins, the others get 409.
  const bodies = await Promise.all(cps.slice(1).map(async (c, i) => formatAddCheckpointRequest(sizes[0]!, await ledgerProof(L.ledger.httpUrl, sizes[0]!, sizes[i + 1]!), c)));
  const results = await Promise.all(bodies.map((b) => post(W.url, b)));
  t.equal(results.filter((r) => r.status === 200).length, 1, results.map((r) => r.status).join(','));
  const won = sizes[1 + results.findIndex((r) => r.status === 200)]!;
  t.ok(results.every((r) => r.status === 200 || (r.status === 409 && r.text === `${won}\n`)));
  t.equal(W.latest(L.ledger.origin)?.size, won);
});
