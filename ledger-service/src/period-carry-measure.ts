// Measures a rotation's boundary stall (period-set.ts) at a given number of meters, each with a registration and
// a binding, twice in the same run on two fresh data directories: the carry done whole at the boundary, and
// the next log prepared ahead (period-prepare.ts: read at a snapshot, then written into the staged log) with
// 1 % of the meters binding a new key during the preparation (appended at the boundary, before entry 0 and the
// left edge are written). Also the longest single preparation batch: the longest pause the preparation puts
// between two pieces of ingest, and the index phase's part (the staged log's index tree, built so the new log's
// first checkpoint is an update by path). `node --import tsx ledger-service/src/period-carry-measure.ts 20000 3` (meters, repeats).
// Prints JSON.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { generateKeyPair, utf8 } from '@meterseal/protocol';
import { loadOrCreateKeys } from './keys.js';
import type { PendingEntry } from './log.js';
import { PeriodLogSet } from './period-set.js';
import { RotatingLog, RotatingStore } from './period-store.js';

const meters = Number(process.argv[2] ?? '20000');
if (!Number.isInteger(meters) || meters < 1) throw new Error(`the number of meters must be a positive integer, not ${process.argv[2]}`);
const id = generateKeyPair().publicKey;
const meterId = (i: number): string => `M-${i.toString().padStart(8, '0')}`;
const binding = (i: number, k: number, firstSeq: bigint): PendingEntry => ({
  entry: utf8.encode(`binding ${meterId(i)} ${k}`.padEnd(135, '.')),
  effect: { kind: 'carried-binding', binding: { meterId: meterId(i), keyId: new Uint8Array(8).fill(k), sessionPublicKey: new Uint8Array(32).fill(k), firstSeq } },
});

function run(prepare: boolean): Record<string, number> {
  const dir = mkdtempSync(join(tmpdir(), 'meterseal-carry-'));
  try {
    let now = Date.UTC(2026, 10, 30, 23, 0);
    const keys = loadOrCreateKeys(dir, 'measure.test/ledger');
    const set = PeriodLogSet.open({ dataDir: dir, baseOrigin: 'measure.test/ledger', unit: 'month', keys, now: () => now, logger: pino({ level: 'silent' }), prepareAheadMs: 0 });
    const store = new RotatingStore(set);
    const log = new RotatingLog(set, store, keys.noteSigner, 'measure.test/ledger');
    for (let base = 0; base < meters; base += 2000) {
      const batch: PendingEntry[] = [];
      for (let i = base; i < Math.min(meters, base + 2000); i++) {
        batch.push({ entry: utf8.encode(`registration ${meterId(i)}`.padEnd(120, '.')), effect: { kind: 'registration', meter: { meterId: meterId(i), identityPublicKey: id, registeredAtMs: 1, certificate: new Uint8Array(150), certificateSignature: new Uint8Array(64) } } });
        batch.push(binding(i, i % 251, 1n));
      }
      log.appendBatch(batch);
    }
    log.checkpointNow();
    const before = statSync(set.current.path).size;
    const out: Record<string, number> = {};
    const rebind = Math.max(1, Math.floor(meters / 100)); // 1 % of the meters bind a new key meanwhile
    if (!prepare) for (let k = 0; k < rebind; k++) log.appendBatch([binding((k * 97) % meters, 252, 1000n)]); // the same appends
    if (prepare) {
      const p = set.startPreparation();
      let steps = 0;
      let longest = 0;
      let total = 0;
      let longestIndex = 0;
      let indexMs = 0;
      while (!p.complete) {
        const t0 = performance.now();
        const indexed = p.progress().indexed;
        p.step();
        const ms = performance.now() - t0;
        longest = Math.max(longest, ms);
        if (p.progress().indexed > indexed) (longestIndex = Math.max(longestIndex, ms)), (indexMs += ms);
        total += ms;
        if (steps < rebind) log.appendBatch([binding((steps * 97) % meters, 252, 1000n)]);
        steps++;
      }
      for (let k = steps; k < rebind; k++) log.appendBatch([binding((k * 97) % meters, 252, 1000n)]);
      Object.assign(out, { prepareMs: Math.round(total), prepareBatches: steps, longestBatchMs: Number(longest.toFixed(1)), changedMeters: p.changed.size, indexMs: Math.round(indexMs), longestIndexBatchMs: Number(longestIndex.toFixed(1)) });
    }
    now = Date.UTC(2026, 11, 1, 0, 0, 1);
    const t0 = performance.now();
    set.maybeRotate();
    const ms = performance.now() - t0;
    const carried = log.size - 1n;
    const r = set.lastRotation!;
    if (r.prepared !== prepare) throw new Error(`the rotation ${r.prepared ? 'used' : 'did not use'} the preparation`);
    Object.assign(out, {
      carriedEntries: Number(carried), boundaryStallMs: Math.round(ms),
      finalCheckpointMs: Math.round(r.finalCheckpointMs), carryMs: Math.round(r.carryMs), firstCheckpointMs: Math.round(r.firstCheckpointMs), oldFileBytes: before, newFileBytes: statSync(set.current.path).size });
    store.close();
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// alternating, so that the load of a shared machine falls on both alike; the medians are compared
const repeats = Number(process.argv[3] ?? '3');
const whole: Record<string, number>[] = [];
const prepared: Record<string, number>[] = [];
for (let i = 0; i < repeats; i++) {
  whole.push(run(false));
  prepared.push(run(true));
}
const median = (rs: Record<string, number>[], k: string): number => rs.map((r) => r[k]!).sort((a, b) => a - b)[Math.floor(rs.length / 2)]!;
console.log(JSON.stringify({
  meters,
  repeats,
  whole: {
    carriedEntries: whole[0]!['carriedEntries'], boundaryStallMs: whole.map((r) => r['boundaryStallMs']), carryMs: whole.map((r) => r['carryMs']),
    finalCheckpointMs: whole.map((r) => r['finalCheckpointMs']), firstCheckpointMs: whole.map((r) => r['firstCheckpointMs']),
  },
  prepared: {
    carriedEntries: prepared[0]!['carriedEntries'], changedMeters: prepared[0]!['changedMeters'], boundaryStallMs: prepared.map((r) => r['boundaryStallMs']),
    carryMs: prepared.map((r) => r['carryMs']), finalCheckpointMs: prepared.map((r) => r['finalCheckpointMs']), firstCheckpointMs: prepared.map((r) => r['firstCheckpointMs']),
    prepareMs: prepared.map((r) => r['prepareMs']), prepareBatches: prepared[0]!['prepareBatches'], longestBatchMs: prepared.map((r) => r['longestBatchMs']),
    indexMs: prepared.map((r) => r['indexMs']), longestIndexBatchMs: prepared.map((r) => r['longestIndexBatchMs']),
  },
  medianStallMs: { whole: median(whole, 'boundaryStallMs'), prepared: median(prepared, 'boundaryStallMs') },
  medianCarryMs: { whole: median(whole, 'carryMs'), prepared: median(prepared, 'carryMs') },
  carryRatio: Number((median(whole, 'carryMs') / Math.max(1, median(prepared, 'carryMs'))).toFixed(1)),
  stallRatio: Number((median(whole, 'boundaryStallMs') / Math.max(1, median(prepared, 'boundaryStallMs'))).toFixed(2)),
}));
