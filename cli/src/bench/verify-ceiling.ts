// verifyCeilingPerSec: native Ed25519 verifies per second over ALL cores — one worker thread per core,
// started together, each verifying pre-signed anchors for ~1 s with the same call verifyNative makes
// (node:crypto verify with a KeyObject prepared once; protocol/src/ed25519.ts). No ledger can anchor faster
// than it can verify, so this is the ceiling the ledger's ingest rate is compared with.
// The worker is plain JavaScript (eval) so it needs neither tsx nor a build in the worker thread.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createPublicKey, verify } = require('node:crypto');
const { performance } = require('node:perf_hooks');
const { readFileSync } = require('node:fs');
// this thread's CPU ms (utime + stime in 10 ms ticks, proc(5)); undefined off Linux
const cpuMs = () => { try { const s = readFileSync('/proc/thread-self/stat', 'utf8'); const f = s.slice(s.lastIndexOf(')') + 2).split(' '); return (Number(f[11]) + Number(f[12])) * 10; } catch { return undefined; } };
const key = createPublicKey({ key: Buffer.from(workerData.spki), format: 'der', type: 'spki' });
const items = workerData.items.map((x) => ({ message: Buffer.from(x.message), signature: Buffer.from(x.signature) }));
for (const x of items.slice(0, 100)) verify(null, x.message, key, x.signature); // warm-up
parentPort.once('message', () => {
  let ops = 0, refused = 0, ms = 0;
  const start = performance.now();
  const cpu0 = cpuMs();
  do {
    for (const x of items) if (!verify(null, x.message, key, x.signature)) refused++;
    ops += items.length;
    ms = performance.now() - start;
  } while (ms < workerData.ms);
  const cpu1 = cpuMs();
  parentPort.postMessage({ ops, refused, ms, cpuMs: cpu0 === undefined || cpu1 === undefined ? undefined : cpu1 - cpu0 });
});
parentPort.postMessage('ready');
`;

export interface CeilingInput {
  /** SubjectPublicKeyInfo DER of the session key (nativePublicKey(...).export({ format: 'der', type: 'spki' })). */
  spki: Uint8Array;
  items: { message: Uint8Array; signature: Uint8Array }[];
}

export interface Ceiling {
  perSec: number;
  workers: number;
  perWorker: number[];
  /** CPU µs per verify on the workers' own threads (Linux); wall-clock independent of other load. */
  cpuUsPerVerify?: number;
}

export async function verifyCeiling(input: CeilingInput, { ms = 1000, workers = availableParallelism() } = {}): Promise<Ceiling> {
  const items = input.items.slice(0, 1000);
  const threads = Array.from({ length: workers }, () => new Worker(WORKER_SOURCE, { eval: true, workerData: { spki: input.spki, items, ms } }));
  try {
    type Report = { ops: number; refused: number; ms: number; cpuMs?: number };
    const watched = threads.map((w) => {
      let ready!: () => void;
      let report!: (r: Report) => void;
      let fail!: (err: Error) => void;
      const failed = new Promise<never>((_, reject) => (fail = reject));
      w.on('message', (m: unknown) => (m === 'ready' ? ready() : report(m as Report)));
      w.once('error', fail);
      w.once('exit', (code) => fail(new Error(`verify worker exited (${code}) before reporting`)));
      const x = {
        ready: Promise.race([new Promise<void>((r) => (ready = r)), failed]),
        result: Promise.race([new Promise<Report>((r) => (report = r)), failed]),
      };
      x.result.catch(() => undefined); // awaited later; a failure before then is not "unhandled"
      return x;
    });
    // a barrier: every worker has parsed its key and warmed up before any starts counting
    await Promise.all(watched.map((x) => x.ready));
    for (const w of threads) w.postMessage('go');
    const done = await Promise.all(watched.map((x) => x.result));
    if (done.some((d) => d.refused > 0)) throw new Error('the verify ceiling workers saw refused signatures');
    const perWorker = done.map((d) => (d.ops * 1000) / d.ms);
    const cpu = done.every((d) => d.cpuMs !== undefined) ? done.reduce((a, d) => a + d.cpuMs!, 0) : undefined;
    const ops = done.reduce((a, d) => a + d.ops, 0);
    return { perSec: perWorker.reduce((a, b) => a + b, 0), workers, perWorker, ...(cpu !== undefined ? { cpuUsPerVerify: (cpu * 1000) / ops } : {}) };
  } finally {
    await Promise.all(threads.map((w) => w.terminate()));
  }
}
