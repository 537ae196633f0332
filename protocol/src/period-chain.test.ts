// verifyPeriodChain: a chain of three period logs verifies; each kind of tampering is refused with its reason.
import t from 'tap';
import { utf8 } from './bytes.js';
import { generateKeyPair } from './ed25519.js';
import { encodeVerifierKey, noteSigner, parseVerifierKey } from './note.js';
import { signCheckpoint } from './checkpoint.js';
import { leafHash } from './merkle/hashing.js';
import { inclusionProof, MemoryTree } from './merkle/tree.js';
import { verifyPeriodChain, type PeriodLink } from './period-chain.js';
import { encodePreviousLog, periodStartMs } from './previous-log.js';

const BASE = 'chain.test/ledger';
const kp = generateKeyPair();
const signer = noteSigner(BASE, kp.secretKey);
const verifier = parseVerifierKey(encodeVerifierKey(BASE, kp.publicKey));
const other = noteSigner(BASE, generateKeyPair().secretKey); // same name, another key

interface Log { links: PeriodLink[]; finals: string[]; trees: MemoryTree[] }

/** Builds period logs: entry 0 commits the previous final checkpoint, `carried` copies follow, then more entries. */
function build(periods: string[], sign = (_i: number) => signer): Log {
  const out: Log = { links: [], finals: [], trees: [] };
  periods.forEach((p, i) => {
    const tree = new MemoryTree();
    const origin = `${BASE}/${p}`;
    let first: Uint8Array | undefined;
    if (i > 0) {
      first = encodePreviousLog({ origin, closedAtMs: BigInt(periodStartMs(p, 'month') + 5), carried: 2n, checkpoint: out.finals[i - 1]! });
      tree.append(leafHash(first));
      tree.append(leafHash(utf8.encode('carried registration')));
      tree.append(leafHash(utf8.encode('carried binding')));
    }
    for (let k = 0; k < 5 + i; k++) tree.append(leafHash(utf8.encode(`${p} entry ${k}`)));
    const note = signCheckpoint({ origin, size: tree.size, root: tree.root(), extensions: [] }, sign(i));
    out.finals.push(note);
    out.trees.push(tree);
    out.links.push({ checkpoint: note, ...(first ? { firstEntry: first, firstEntryProof: inclusionProof(tree, 0n, tree.size) } : {}) });
  });
  return out;
}

const PERIODS = ['2026-09', '2026-10', '2026-11'];

t.test('a valid chain of three periods verifies, oldest first', async (t) => {
  const { links, trees } = build(PERIODS);
  const v = verifyPeriodChain(links, { verifier, baseOrigin: BASE });
  t.same(v.map((p) => p.period), PERIODS);
  t.same(v.map((p) => p.size), trees.map((x) => x.size));
  t.equal(v[0]!.previousLog, undefined, 'the first log has no predecessor');
  t.equal(v[2]!.previousLog?.carried, 2n);
  t.same(verifyPeriodChain(links.slice(1), { verifier, baseOrigin: BASE }).map((p) => p.period), PERIODS.slice(1), 'a suffix of the chain verifies too');
});

t.test('tampered chains are refused with a named reason', async (t) => {
  const opts = { verifier, baseOrigin: BASE };
  const { links } = build(PERIODS);

  t.throws(() => verifyPeriodChain([], opts), { code: 'CHAIN_EMPTY' });

  // a closed period's checkpoint that is not its final one: an earlier, smaller tree of the same log
  const tree = new MemoryTree();
  for (let k = 0; k < 3; k++) tree.append(leafHash(utf8.encode(`2026-09 entry ${k}`)));
  const early = signCheckpoint({ origin: `${BASE}/2026-09`, size: 3n, root: tree.root(), extensions: [] }, signer);
  t.throws(() => verifyPeriodChain([{ checkpoint: early }, ...links.slice(1)], opts), { code: 'CHAIN_MISMATCH' }, 'not the final checkpoint');

  // a forged period 1 (same origin, other entries) substituted for the committed one
  const forged = build(['2026-09']);
  forged.links[0] = { checkpoint: signCheckpoint({ origin: `${BASE}/2026-09`, size: 6n, root: new Uint8Array(32).fill(7), extensions: [] }, signer) };
  t.throws(() => verifyPeriodChain([forged.links[0]!, ...links.slice(1)], opts), { code: 'CHAIN_MISMATCH' }, 'another root at the committed size');

  t.throws(() => verifyPeriodChain([links[0]!, links[2]!], opts), { code: 'CHAIN_MISMATCH' }, 'a period left out of the chain');
  t.throws(() => verifyPeriodChain([links[1]!, links[0]!], opts), { code: 'CHAIN_ORDER' }, 'periods out of order');

  const wrongKey = build(PERIODS, (i) => (i === 1 ? other : signer));
  t.throws(() => verifyPeriodChain(wrongKey.links, opts), { code: 'CHAIN_BAD_SIGNATURE' }, 'a checkpoint signed by another key');

  const noEntry = links.map((l, i) => (i === 1 ? { checkpoint: l.checkpoint } : l));
  t.throws(() => verifyPeriodChain(noEntry, opts), { code: 'CHAIN_NO_LINK' }, 'entry 0 missing');

  const notRecord = links.map((l, i) => (i === 1 ? { ...l, firstEntry: utf8.encode('carried registration') } : l));
  t.throws(() => verifyPeriodChain(notRecord, opts), { code: 'CHAIN_NOT_PREVIOUS_LOG' }, 'entry 0 is another record');

  const flipped = Uint8Array.from(links[2]!.firstEntry!);
  flipped[flipped.length - 3]! ^= 0x01; // inside the committed note's signature line: decodes, but no longer included
  const badProof = links.map((l, i) => (i === 2 ? { ...l, firstEntry: flipped } : l));
  t.throws(() => verifyPeriodChain(badProof, opts), { name: 'ProtocolError', code: /^CHAIN_(PROOF|NOT_PREVIOUS_LOG)$/ }, 'a changed entry 0 is refused');
  const shortProof = links.map((l, i) => (i === 2 ? { ...l, firstEntryProof: l.firstEntryProof!.slice(1) } : l));
  t.throws(() => verifyPeriodChain(shortProof, opts), { code: 'CHAIN_PROOF' }, 'a wrong inclusion proof');

  const foreign = signCheckpoint({ origin: 'other.example/log/2026-09', size: 1n, root: new Uint8Array(32), extensions: [] }, signer);
  t.throws(() => verifyPeriodChain([{ checkpoint: foreign }], opts), { code: 'CHAIN_ORIGIN' }, 'an origin outside the base');

  // entry 0 of period 2026-10 claiming it was closed before the period began
  const early2 = build(['2026-09']);
  const tree2 = new MemoryTree();
  const first = encodePreviousLog({ origin: `${BASE}/2026-10`, closedAtMs: BigInt(periodStartMs('2026-10', 'month') - 1), carried: 0n, checkpoint: early2.finals[0]! });
  tree2.append(leafHash(first));
  const cp2 = signCheckpoint({ origin: `${BASE}/2026-10`, size: 1n, root: tree2.root(), extensions: [] }, signer);
  t.throws(() => verifyPeriodChain([early2.links[0]!, { checkpoint: cp2, firstEntry: first, firstEntryProof: [] }], opts), { code: 'CHAIN_TIME' });
});
