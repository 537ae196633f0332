// Measures a checkpoint's per-meter index at a given number of meters (docs/ledger.md §Sizing, "updated by path"):
// one SQLite store with M meters (a registration and a binding each), then rounds of 1 % of the meters anchoring
// one reading each, and after each round the index the next checkpoint commits, computed twice in the same run:
//   old: what LedgerLog did before index-tree.ts — every meter's leaf from the store's cache (the touched ones
//        re-read), every leaf hashed, the root over all of them (the split is printed: leaves, hashes, root);
//   new: LedgerLog.index() — the touched meters' leaves read and their paths re-hashed (index-tree.ts).
// The order alternates between rounds (the first of the two re-reads the touched leaves). Also the first index of
// a new log (O(M) once: every leaf read and hashed) and a checkpoint (signed note) after a round; and that first
// index on a reopened store, its leaves read per meter (the old way) vs by one ordered scan, and its tree built.
// `node --import tsx ledger-service/src/index-tree-measure.ts 20000 5` (meters, rounds). Prints JSON.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bytesEqual, generateKeyPair, indexLeafHash, indexRoot, noteSigner, utf8 } from '@meterseal/protocol';
import { IndexTree } from './index-tree.js';
import { LedgerLog, type PendingEntry } from './log.js';
import { openSqliteStore } from './sqlite-store.js';
import { anchorAppend } from './testing/store-conformance.js';

const meters = Number(process.argv[2] ?? '20000');
const rounds = Number(process.argv[3] ?? '5');
if (!Number.isInteger(meters) || meters < 100) throw new Error(`the number of meters must be an integer ≥ 100, not ${process.argv[2]}`);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`the number of rounds must be a positive integer, not ${process.argv[3]}`);
const meterId = (i: number): string => `M-${i.toString().padStart(8, '0')}`;
const ms = (t0: number): number => Math.round((performance.now() - t0) * 10) / 10;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = mkdtempSync(join(tmpdir(), 'meterseal-index-'));
try {
  const store = openSqliteStore(join(dir, 'ledger.sqlite'));
  const signer = noteSigner('measure.test/ledger', generateKeyPair().secretKey);
  const log = new LedgerLog(store, 'measure.test/ledger', signer);
  const id = new Uint8Array(32).fill(1);
  for (let base = 0; base < meters; base += 2000) {
    const batch: PendingEntry[] = [];
    for (let i = base; i < Math.min(meters, base + 2000); i++) {
      batch.push({ entry: utf8.encode(`registration ${meterId(i)}`.padEnd(120, '.')), effect: { kind: 'registration', meter: { meterId: meterId(i), identityPublicKey: id, registeredAtMs: 1, certificate: new Uint8Array(150), certificateSignature: new Uint8Array(64) } } });
      batch.push({ entry: utf8.encode(`binding ${meterId(i)}`.padEnd(135, '.')), effect: { kind: 'carried-binding', binding: { meterId: meterId(i), keyId: new Uint8Array(8).fill(i % 251), sessionPublicKey: new Uint8Array(32).fill(i % 251), firstSeq: 1n } } });
    }
    log.appendBatch(batch);
  }
  let t0 = performance.now();
  log.checkpointNow();
  const firstCheckpointMs = ms(t0); // a new log's first index: every meter's leaf read and hashed, O(M) once
  const touched = Math.floor(meters / 100);
  const old: Array<{ leavesMs: number; hashMs: number; rootMs: number; totalMs: number }> = [];
  const neu: number[] = [];
  const checkpointMs: number[] = [];
  let mismatches = 0;
  for (let r = 0; r < rounds; r++) {
    const batch: PendingEntry[] = [];
    for (let k = 0; k < touched; k++) batch.push(anchorAppend(meterId((k * 97 + r * 7919) % meters), BigInt(r + 1), (k + r) % 200));
    for (let i = 0; i < batch.length; i += 1000) log.appendBatch(batch.slice(i, i + 1000));
    const runOld = (): Uint8Array => {
      const a = performance.now();
      const leaves = store.meterIndexLeaves();
      const b = performance.now();
      leaves.map(indexLeafHash);
      const c = performance.now();
      const root = indexRoot(leaves);
      const d = performance.now();
      old.push({ leavesMs: Math.round((b - a) * 10) / 10, hashMs: Math.round((c - b) * 10) / 10, rootMs: Math.round((d - c) * 10) / 10, totalMs: Math.round((d - a) * 10) / 10 });
      return root;
    };
    const runNew = (): Uint8Array => {
      const a = performance.now();
      const root = log.index().root;
      neu.push(ms(a));
      return root;
    };
    const [x, y] = r % 2 === 0 ? [runOld(), runNew()] : [runNew(), runOld()];
    if (!bytesEqual(x, y)) mismatches++;
    t0 = performance.now();
    log.checkpointNow(); // the index is cached for this size: the rest of a checkpoint (root, signature, store)
    checkpointMs.push(ms(t0));
  }
  // a log's first index after a start (or a new period's log): a second connection, nothing cached; the leaves
  // read per meter (leaf(id), 3–5 queries each: what meterIndexLeaves did before) vs one ordered scan (leaves())
  const cold: Array<{ perMeterLeavesMs: number; scanLeavesMs: number; treeMs: number }> = [];
  for (let r = 0; r < 2; r++) {
    const s = openSqliteStore(join(dir, 'ledger.sqlite'));
    const ids = s.meterIndexLeaves().map((l) => l.meterId); // (warms the page cache for both)
    const s2 = openSqliteStore(join(dir, 'ledger.sqlite'));
    const b = performance.now();
    const perMeter = ids.map((m) => s2.meterIndex.leaf(m));
    const c = performance.now();
    const s3 = openSqliteStore(join(dir, 'ledger.sqlite'));
    const d = performance.now();
    const scanned = s3.meterIndexLeaves();
    const e = performance.now();
    const root = IndexTree.of(scanned).root();
    const f = performance.now();
    if (!bytesEqual(root, indexRoot(perMeter))) mismatches++;
    cold.push({ perMeterLeavesMs: Math.round((c - b) * 10) / 10, scanLeavesMs: Math.round((e - d) * 10) / 10, treeMs: Math.round((f - e) * 10) / 10 });
    for (const x of [s, s2, s3]) x.close();
  }
  const oldTotal = median(old.map((o) => o.totalMs));
  console.log(JSON.stringify({
    meters, touchedPerRound: touched, rounds, mismatches, firstCheckpointMs,
    oldMedian: { totalMs: oldTotal, leavesMs: median(old.map((o) => o.leavesMs)), hashMs: median(old.map((o) => o.hashMs)), rootMs: median(old.map((o) => o.rootMs)) },
    newMedianMs: median(neu), coldFirstIndex: cold, ratio: Math.round((oldTotal / median(neu)) * 10) / 10, checkpointRestMedianMs: median(checkpointMs),
    old, new: neu,
  }));
  store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
