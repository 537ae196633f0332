// A witness for a ledger that rotates its log by period (config `rotates`, README "Ledgers that rotate their
// log"), over HTTP against a real witness service and SQLite store. The ledger is RotatingSimLedger: real RFC 9162
// trees, real PreviousLog entries, real signatures by the ledger key — so every forgery here is one the holder of
// the ledger key could make.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import {
  MemoryTree, consistencyProof, encodePreviousLog, generateKeyPair, inclusionProof, leafHash, noteSigner, parseCheckpointText,
  parseCosignatureVerifierKey, parseNote, periodOrigin, signCheckpoint, verifyCosignature, type NoteSigner,
} from '@meterseal/protocol';
import { tempDir } from '@meterseal/ledger-service/testing/harness';
import { parseWitnessConfig } from './config.js';
import { formatAddCheckpointRequest, type LinkGroup } from './request.js';
import { startWitness } from './service.js';
import { post, silent } from './testing/harness.js';
import { RotatingSimLedger } from './testing/rotating-ledger.js';

const BASE = 'ledger.example/log';
const N = '2026-11';
const N1 = '2026-12';
const NOW = Date.UTC(2026, 11, 1, 0, 5, 0);
const sizeOf = (note: string): bigint => parseCheckpointText(parseNote(note).text).size;

async function witnessFor(t: Test, L: { verifierKey: string }, dataDir = tempDir(t, 'meterseal-witness-'), rotates = true) {
  const w = await startWitness(
    { dataDir, name: 'witness.test/rot', http: { port: 0 }, logs: [{ origin: BASE, verifierKey: L.verifierKey, rotates }] },
    { log: silent, now: () => NOW },
  );
  t.teardown(() => w.close());
  return w;
}

/** The ledger cosigned at `at` entries of period N, then grown to `final` and rotated into N+1 (size 2). */
async function cosignedThenRotated(t: Test, at = 5, final = 9) {
  const L = new RotatingSimLedger(BASE, N);
  const W = await witnessFor(t, L);
  const cp = L.grow(at);
  t.equal((await post(W.url, formatAddCheckpointRequest(0n, [], cp))).status, 200, 'period N cosigned');
  L.grow(final - at);
  const { final: finalNote, entry0 } = L.rotate(N1);
  const next = L.checkpoint();
  const old = periodOrigin(BASE, N);
  const group = L.firstEntry(periodOrigin(BASE, N1), sizeOf(next))!;
  return { L, W, old, finalNote, entry0, next, group, proof: L.logConsistencyProof(old, BigInt(at), BigInt(final)) };
}

/** A period log signed by `signer` whose entry 0 commits `committed`, with `extra` more entries. */
function forgedLog(signer: NoteSigner, period: string, committed: string, extra = 1): { note: string; group: LinkGroup } {
  const origin = periodOrigin(BASE, period);
  const entry = encodePreviousLog({ origin, closedAtMs: BigInt(Date.UTC(2026, 11, 1, 0, 0, 1)), carried: 0n, checkpoint: committed });
  const tree = new MemoryTree();
  tree.append(leafHash(entry));
  for (let i = 0; i < extra; i++) tree.append(leafHash(new Uint8Array(randomBytes(40))));
  return { note: signCheckpoint({ origin, size: tree.size, root: tree.root(), extensions: [] }, signer), group: { entry, proof: inclusionProof(tree, 0n, tree.size) } };
}

t.test('config: rotates names a base origin; one of its period logs cannot also be listed', async (t) => {
  const vkey = new RotatingSimLedger(BASE, N).verifierKey;
  t.equal(parseWitnessConfig({ dataDir: '/d', logs: [{ origin: BASE, verifierKey: vkey, rotates: true }] }).logs[0]!.rotates, true);
  t.equal(parseWitnessConfig({ dataDir: '/d', logs: [{ origin: BASE, verifierKey: vkey }] }).logs[0]!.rotates, false, 'exact origin by default');
  t.throws(() => parseWitnessConfig({ dataDir: '/d', logs: [{ origin: BASE, verifierKey: vkey, rotates: true }, { origin: `${BASE}/${N}`, verifierKey: vkey }] }),
    { code: 'CONFIG_INVALID', message: /logs\.1\.origin: .*period log of the rotating ledger/ });
});

t.test('period N, then N+1 through its link: 409 with the witness head until the link reaches it, then cosigned', async (t) => {
  const { L, W, old, finalNote, next, group, proof } = await cosignedThenRotated(t);
  const neu = periodOrigin(BASE, N1);
  const plain = await post(W.url, formatAddCheckpointRequest(0n, [], next));
  t.equal(plain.status, 409, 'a plain c2sp request for a new period is not enough');
  t.match(plain.type, /^text\/x\.meterseal\.witness-head/);
  t.equal(plain.text, `5 ${old}\n`, 'the answer names the witness\'s log and cosigned size');
  const noProof = await post(W.url, formatAddCheckpointRequest(0n, [], next, { groups: [group], consistency: [] }));
  t.equal(noProof.status, 409, 'entry 0 without the consistency proof from the cosigned size to the final one');
  t.equal(noProof.text, `5 ${old}\n`);

  const ok = await post(W.url, formatAddCheckpointRequest(0n, [], next, { groups: [group], consistency: proof }));
  t.equal(ok.status, 200, ok.text);
  t.ok(verifyCosignature(next + ok.text, parseCosignatureVerifierKey(W.verifierKey)), 'cosignature/v1 over the new period\'s checkpoint');
  t.same(W.position(BASE), { origin: neu, period: N1 }, 'the ledger\'s position moved to N+1');
  t.equal(W.latest(old)?.size, 9n, 'N\'s head became its final checkpoint (committed in entry 0, consistent with what was cosigned)');
  t.equal(W.latest(old)?.note, finalNote);
  t.equal(W.latest(neu)?.size, 2n);

  // N+1 grows as any log does (c2sp.org/tlog-witness, unchanged)
  const grown = L.grow(3);
  const r = await post(W.url, formatAddCheckpointRequest(2n, L.logConsistencyProof(neu, 2n, 5n), grown));
  t.equal(r.status, 200, r.text);
  t.same(W.evidence(old), []);
  t.same(W.evidence(neu), []);
});

t.test('the final checkpoint equal to the cosigned one needs no consistency proof', async (t) => {
  const { W, next, group } = await cosignedThenRotated(t, 5, 5);
  t.equal((await post(W.url, formatAddCheckpointRequest(0n, [], next, { groups: [group], consistency: [] }))).status, 200);
});

t.test('forged links are refused, not cosigned, and kept as evidence', async (t) => {
  const keys = generateKeyPair();
  const L = new RotatingSimLedger(BASE, N, keys);
  const W = await witnessFor(t, L);
  const old = periodOrigin(BASE, N);
  const neu = periodOrigin(BASE, N1);
  t.equal((await post(W.url, formatAddCheckpointRequest(0n, [], L.grow(5)))).status, 200);
  L.grow(4); // the real log reaches 9
  const realProof = L.logConsistencyProof(old, 5n, 9n);
  const send = (f: { note: string; group: LinkGroup }, consistency: Uint8Array[] = []) =>
    post(W.url, formatAddCheckpointRequest(0n, [], f.note, { groups: [f.group], consistency }));

  // wrong previous root: the committed final of N at size 9 has another root; the real proof 5 → 9 fails
  const otherRoot = signCheckpoint({ origin: old, size: 9n, root: new Uint8Array(randomBytes(32)), extensions: [] }, L.signer);
  const r1 = await send(forgedLog(L.signer, N1, otherRoot), realProof);
  t.equal(r1.status, 422, r1.text);
  t.match(r1.text, /^BAD_LINK: .*consistency proof from the cosigned size 5 to the final size 9/);

  // the committed checkpoint signed by another key (the new log itself by the ledger's)
  const otherKey = noteSigner(BASE, generateKeyPair().secretKey);
  const byOtherKey = signCheckpoint({ origin: old, size: 9n, root: L.current.tree.root(9n), extensions: [] }, otherKey);
  const r2 = await send(forgedLog(L.signer, N1, byOtherKey), realProof);
  t.equal(r2.status, 422, r2.text);
  t.match(r2.text, /not signed by the ledger key/);
  // … and a new period's checkpoint signed by another key at all: 403, as for any log
  t.equal((await send(forgedLog(otherKey, N1, L.checkpoint()))).status, 403);

  // a final checkpoint smaller than the cosigned one (the ledger rewound N to 3, then closed it): a conflict
  const smaller = L.checkpoint(L.current, 3n);
  const r3 = await send(forgedLog(L.signer, N1, smaller));
  t.equal(r3.status, 409, r3.text);
  t.match(r3.text, /^LINK_CONFLICT: .*size 3, below the cosigned 5/);
  // the same size as the cosigned one with another root: a split view
  const split = signCheckpoint({ origin: old, size: 5n, root: new Uint8Array(randomBytes(32)), extensions: [] }, L.signer);
  t.match((await send(forgedLog(L.signer, N1, split))).text, /^LINK_CONFLICT: .*another root/);

  // entry 0 not included in the new checkpoint (its proof is of another tree)
  const good = forgedLog(L.signer, N1, L.checkpoint(L.current, 9n), 2);
  const r4 = await send({ note: good.note, group: { entry: good.group.entry, proof: forgedLog(L.signer, N1, L.checkpoint(L.current, 9n), 2).group.proof } }, realProof);
  t.equal(r4.status, 422);
  t.match(r4.text, /inclusion proof of entry 0/);
  // entry 0 not a PreviousLog record
  const plainTree = new MemoryTree();
  const plainEntry = new Uint8Array(randomBytes(40));
  plainTree.append(leafHash(plainEntry));
  const plainNote = signCheckpoint({ origin: neu, size: 1n, root: plainTree.root(), extensions: [] }, L.signer);
  t.match((await send({ note: plainNote, group: { entry: plainEntry, proof: [] } })).text, /^BAD_LINK: .*not a PreviousLog/);
  // a link from a period before the witness's: the new log skips what the witness cosigned
  const older = signCheckpoint({ origin: periodOrigin(BASE, '2026-10'), size: 1n, root: leafHash(plainEntry), extensions: [] }, L.signer);
  t.match((await send(forgedLog(L.signer, N1, older))).text, /^BAD_LINK: .*over ledger\.example\/log\/2026-11 that this witness cosigned/);

  t.same(W.position(BASE), { origin: old, period: N }, 'still at period N');
  t.equal(W.latest(neu), null, 'nothing of N+1 cosigned');
  t.ok(W.evidence(neu).length >= 6, 'each refusal of a ledger-signed link is kept');
  t.match(W.evidence(neu)[0]!.request, /^old 0\nlink \S+\nlink-proof \S+\nlink-consistency \S+\n/);

  // and the real link still works afterwards
  const real = forgedLog(L.signer, N1, L.checkpoint(L.current, 9n));
  t.equal((await send(real, realProof)).status, 200);
});

t.test('after N+1, a checkpoint of N is refused (409 PERIOD_ROLLBACK), also after a restart', async (t) => {
  const { L, W, old, next, group, proof } = await cosignedThenRotated(t);
  const dataDir = W.config.dataDir;
  t.equal((await post(W.url, formatAddCheckpointRequest(0n, [], next, { groups: [group], consistency: proof }))).status, 200);
  const finalAgain = await post(W.url, formatAddCheckpointRequest(9n, [], L.log(old).final!));
  t.equal(finalAgain.status, 409);
  t.match(finalAgain.text, /^PERIOD_ROLLBACK: .*2026-11" is a period before/);
  t.same(W.evidence(old), [], 'the known final checkpoint again is no evidence');

  // the ledger key signs N beyond its final checkpoint, with a valid consistency proof: refused and kept
  const closed = L.log(old);
  L.add(closed, new Uint8Array(randomBytes(40)));
  const beyond = L.checkpoint(closed);
  const r = await post(W.url, formatAddCheckpointRequest(9n, consistencyProof(closed.tree, 9n, 10n), beyond));
  t.equal(r.status, 409, r.text);
  t.equal(W.evidence(old).length, 1, 'a checkpoint of a closed log beyond its final one is evidence');

  await W.close();
  const again = await witnessFor(t, L, dataDir);
  t.same(again.position(BASE), { origin: periodOrigin(BASE, N1), period: N1 }, 'the position survives a restart');
  t.equal((await post(again.url, formatAddCheckpointRequest(9n, [], L.log(old).final!))).status, 409);
});

t.test('first use: an unknown rotating ledger is accepted at any period, with or without a link (a link given is checked)', async (t) => {
  const L = new RotatingSimLedger(BASE, N);
  L.grow(3);
  L.rotate(N1);
  const next = L.checkpoint();
  const group = L.firstEntry(periodOrigin(BASE, N1), sizeOf(next))!;
  const W1 = await witnessFor(t, L);
  t.equal((await post(W1.url, formatAddCheckpointRequest(0n, [], next))).status, 200, 'plain c2sp request, like any first checkpoint');
  const W2 = await witnessFor(t, L);
  const broken = { entry: group.entry, proof: [new Uint8Array(32)] };
  t.equal((await post(W2.url, formatAddCheckpointRequest(0n, [], next, { groups: [broken], consistency: [] }))).status, 422, 'a bad link is refused even on first use');
  t.equal((await post(W2.url, formatAddCheckpointRequest(0n, [], next, { groups: [group], consistency: [] }))).status, 200);
  t.equal((await post(W2.url, formatAddCheckpointRequest(0n, [], L.log(periodOrigin(BASE, N)).final!))).status, 409, 'then N is a rollback');
});

t.test('exact-origin mode is unchanged: period origins are unknown, link lines are refused', async (t) => {
  const L = new RotatingSimLedger(BASE, N);
  const W = await witnessFor(t, L, undefined, false);
  t.equal((await post(W.url, formatAddCheckpointRequest(0n, [], L.grow(2)))).status, 404, `${BASE}/${N} is not ${BASE}`);
  const exact = signCheckpoint({ origin: BASE, size: 1n, root: leafHash(new Uint8Array(1)), extensions: [] }, L.signer);
  t.equal((await post(W.url, formatAddCheckpointRequest(0n, [], exact))).status, 200);
  const linked = await post(W.url, formatAddCheckpointRequest(0n, [], exact, { groups: [{ entry: new Uint8Array([0x16]), proof: [] }], consistency: [] }));
  t.equal(linked.status, 400);
});
