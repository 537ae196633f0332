// The leaves of every meter for a reconciliation run, in meter order. On SQLite with workers, each meter is
// re-hashed from its stored bytes on one of N worker threads (rehash-worker.ts, each with its own read
// connection), a few meters ahead of the comparison; otherwise on the calling thread. Either way every
// reading is hashed again from its stored canonical encoding, which holds all its values (rehash-core.ts):
// no hash is stored or cached between runs.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { HASH_LENGTH } from '@meterseal/protocol';
import { CollectorError } from './errors.js';
import type { CollectedLeaf } from './reconcile-tree.js';
import { leavesOfStored, type MeterLeaves } from './rehash-core.js';
import { SqliteCollectorStore } from './sqlite-store.js';
import type { CollectorStore } from './store.js';

export type { MeterLeaves } from './rehash-core.js';

const U64_MAX = (1n << 64n) - 1n;
/** Below this many stored readings, starting threads costs more than it saves: re-hash on the calling thread. */
export const WORKER_THRESHOLD = 50_000;

export interface CollectOptions {
  /**
   * Worker threads; 0 = the calling thread. Default: METERSEAL_REHASH_WORKERS if set, else one per core (at most 8)
   * from WORKER_THRESHOLD stored readings on.
   */
  workers?: number;
  signal?: AbortSignal;
}

/** Runs the TypeScript worker through tsx (no build step), whether or not the parent registered it by flag. */
const BOOT = `
const { workerData } = require('node:worker_threads');
import(workerData.tsxApi).then((api) => { api.register(); return import(workerData.entry); });
`;

async function defaultWorkers(store: CollectorStore): Promise<number> {
  const forced = process.env.METERSEAL_REHASH_WORKERS; // a whole test run on either path: 0, or a number of threads
  if (forced !== undefined && /^\d{1,2}$/.test(forced)) return Number(forced);
  const many = store instanceof SqliteCollectorStore ? store.hasReadings(WORKER_THRESHOLD) : (await store.counts()).readings >= WORKER_THRESHOLD;
  return many ? Math.min(8, availableParallelism()) : 0;
}

/** Yields MeterLeaves for each of `meterIds`, in that order (a meter without readings gives count 0). */
export async function* collectLeaves(store: CollectorStore, meterIds: readonly string[], o: CollectOptions = {}): AsyncGenerator<MeterLeaves> {
  const sqlite = store instanceof SqliteCollectorStore && store.path !== ':memory:' ? store : null;
  const workers = Math.min(meterIds.length, sqlite ? o.workers ?? (await defaultWorkers(store)) : 0);
  if (workers <= 0 || !sqlite) {
    for (const meterId of meterIds) {
      o.signal?.throwIfAborted();
      yield sqlite ? sqlite.meterLeaves(meterId) : leavesOfStored(meterId, await store.readings(meterId, 0n, U64_MAX, Number.MAX_SAFE_INTEGER));
    }
    return;
  }
  yield* pooled(sqlite.path, meterIds, workers, o.signal);
}

interface Slot {
  promise: Promise<MeterLeaves>;
  resolve: (l: MeterLeaves) => void;
  reject: (e: unknown) => void;
}

async function* pooled(path: string, meterIds: readonly string[], n: number, signal?: AbortSignal): AsyncGenerator<MeterLeaves> {
  const workerData = { path, tsxApi: import.meta.resolve('tsx/esm/api'), entry: new URL('./rehash-worker.ts', import.meta.url).href };
  const threads = Array.from({ length: n }, () => new Worker(BOOT, { eval: true, workerData }));
  const lookahead = 2 * n + 2; // meters re-hashed ahead of the one being compared: bounded memory
  let next = 0;
  let yielded = 0;
  let failed: unknown = null;
  /** Results of the meters in flight or waiting to be compared, at most `lookahead` (not one per meter of a large fleet). */
  const slots = new Map<number, Slot>();
  const slot = (id: number): Slot => {
    let s = slots.get(id);
    if (s === undefined) {
      s = {} as Slot;
      const made = s;
      s.promise = new Promise<MeterLeaves>((resolve, reject) => Object.assign(made, { resolve, reject }));
      s.promise.catch(() => undefined); // awaited in order below; a failure before then is not "unhandled"
      if (failed !== null) s.reject(failed);
      slots.set(id, s);
    }
    return s;
  };
  const fail = (err: unknown): void => {
    failed ??= err;
    for (const s of slots.values()) s.reject(failed);
  };
  const dispatch = (w: Worker): void => {
    if (failed !== null || next >= meterIds.length || next >= yielded + lookahead) {
      idle.add(w);
      return;
    }
    const id = next++;
    w.postMessage({ id, meterId: meterIds[id] });
  };
  const idle = new Set<Worker>();
  for (const w of threads) {
    w.on('message', (m: 'ready' | { id: number; leaves?: MeterLeaves; error?: string }) => {
      if (m === 'ready') return dispatch(w);
      if (m.leaves) slot(m.id).resolve(m.leaves);
      else fail(new CollectorError('STORE_FAILED', `re-hashing meter ${meterIds[m.id]} failed: ${m.error}`));
      dispatch(w);
    });
    w.once('error', (cause) => fail(new CollectorError('STORE_FAILED', `a re-hash worker failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })));
    w.once('exit', (code) => fail(new CollectorError('STORE_FAILED', `a re-hash worker exited (${code}) early`)));
  }
  try {
    for (let i = 0; i < meterIds.length; i++) {
      signal?.throwIfAborted();
      const leaves = await slot(i).promise;
      slots.delete(i);
      yielded = i + 1;
      for (const w of [...idle]) {
        idle.delete(w);
        dispatch(w);
      }
      yield leaves;
    }
  } finally {
    failed ??= new Error('closed');
    await Promise.all(threads.map((w) => w.terminate()));
  }
}

/** A stored reading's seq and agent time: all that completeness and time ranges need. */
export interface ReadingTime {
  seq: bigint;
  agentTimeMs: bigint;
}

/** MeterLeaves as the comparison takes them (reconcile-tree.ts): one CollectedLeaf per reading, and their times. */
export function leafView(l: MeterLeaves): { mine: CollectedLeaf[]; times: ReadingTime[] } {
  const mine: CollectedLeaf[] = new Array(l.count);
  const times: ReadingTime[] = new Array(l.count);
  for (let i = 0; i < l.count; i++) {
    const seq = l.seqs[i]!;
    const at = i * HASH_LENGTH;
    mine[i] = l.ok[i] === 1
      ? { seq, leafHash: l.leafHashes.subarray(at, at + HASH_LENGTH), readingHash: l.readingHashes.subarray(at, at + HASH_LENGTH) }
      : { seq, leafHash: null, readingHash: null };
    times[i] = { seq, agentTimeMs: l.agentTimes[i]! };
  }
  return { mine, times };
}
