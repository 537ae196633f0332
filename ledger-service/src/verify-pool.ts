// Ed25519 verification of anchor groups on worker threads (node:worker_threads), so that the event loop —
// which also carries MQTT, JSON and SQLite — is not the verification bottleneck. The same workers also sign
// the groups' inclusion promises (`sign`, ingest-promises.ts) while the event loop waits for the commit. Each worker does exactly
// what protocol/src/ed25519.ts verifyNative does with a KeyObject: node:crypto verify(null, message, key,
// signature), false for a signature that is not 64 bytes or on any throw. Keys cross as the SPKI DER that
// nativePublicKey builds, once per worker, and are turned into KeyObjects there the same way. Jobs go as one
// transferred buffer per worker; results come back in job order. The worker is plain JavaScript (eval), so
// it needs neither tsx nor a build step.
import type { KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { SIGNATURE_LENGTH, nativePublicKey, toHex, verifyNative } from '@meterseal/protocol';

export interface VerifyJob {
  publicKey: Uint8Array;
  message: Uint8Array;
  signature: Uint8Array;
}

// Messages are queued in the worker and taken one at a time, signing before verifying: a group's promises
// (posted while the group commits, which waits for them) never wait behind the next groups' verifications,
// which are posted in chunks (CHUNK) so that a signing job waits for at most one chunk.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createPrivateKey, createPublicKey, sign, verify } = require('node:crypto');
const keys = new Map();
let signKey;
const signs = [];
const verifies = [];
let scheduled = false;
function signAll(m) {
  // RFC 8032 Ed25519 signatures of each message with the ledger's key (PKCS #8 DER, sent once per worker)
  if (m.signKey) signKey = createPrivateKey({ key: Buffer.from(m.signKey), format: 'der', type: 'pkcs8' });
  const data = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
  const n = m.offsets.length - 1;
  const out = new Uint8Array(64 * n);
  for (let i = 0; i < n; i++) out.set(sign(null, data.subarray(m.offsets[i], m.offsets[i + 1]), signKey), 64 * i);
  parentPort.postMessage({ id: m.id, out }, [out.buffer]);
}
function verifyAll(m) {
  if (m.reset) keys.clear();
  for (const [id, spki] of m.keys) keys.set(id, createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }));
  const data = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
  const n = m.keyIds.length;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const end = m.offsets[i + 1];
    try {
      out[i] = verify(null, data.subarray(m.offsets[i], end - 64), keys.get(m.keyIds[i]), data.subarray(end - 64, end)) ? 1 : 0;
    } catch {
      out[i] = 0;
    }
  }
  parentPort.postMessage({ id: m.id, out }, [out.buffer]);
}
function work() {
  scheduled = false;
  if (signs.length > 0) signAll(signs.shift());
  else if (verifies.length > 0) verifyAll(verifies.shift());
  if (signs.length + verifies.length > 0) schedule();
}
function schedule() {
  if (!scheduled) {
    scheduled = true;
    setImmediate(work); // after the messages that have arrived meanwhile are queued
  }
}
parentPort.on('message', (m) => {
  (m.op === 'sign' ? signs : verifies).push(m);
  schedule();
});
`;

/** Most verifications in one message to a worker. */
const CHUNK = 64;

interface Pending {
  resolve(r: Uint8Array): void;
  reject(err: Error): void;
}

class VerifyWorker {
  readonly worker: Worker;
  readonly sent = new Set<number>();
  /** The signing key (PKCS #8 DER) this worker holds, by reference. */
  signKey: Uint8Array | undefined;
  reset = false;
  dead = false;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, { eval: true });
    this.worker.unref();
    this.worker.on('message', (m: { id: number; out: Uint8Array }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker.unref();
      p?.resolve(m.out);
    });
    const fail = (err: Error): void => {
      this.dead = true;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`verify worker exited with code ${code}`)));
  }

  run(keys: [number, Uint8Array][], keyIds: Int32Array, offsets: Uint32Array, data: Uint8Array): Promise<Uint8Array> {
    const reset = this.reset;
    this.reset = false;
    return this.post({ reset, keys, keyIds, offsets, data }, [data.buffer as ArrayBuffer, keyIds.buffer as ArrayBuffer, offsets.buffer as ArrayBuffer]);
  }

  /** 64-byte signatures of data[offsets[i], offsets[i+1]), concatenated. */
  signAll(signKey: Uint8Array, offsets: number[], data: Uint8Array): Promise<Uint8Array> {
    const send = this.signKey !== signKey;
    this.signKey = signKey;
    return this.post({ op: 'sign', ...(send ? { signKey } : {}), offsets, data }, [data.buffer as ArrayBuffer]);
  }

  private post(m: Record<string, unknown>, transfer: ArrayBuffer[]): Promise<Uint8Array> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref(); // a pending answer keeps the process alive; an idle pool does not
      this.worker.postMessage({ id, ...m }, transfer);
    });
  }
}

export class VerifyPool {
  private workers: VerifyWorker[] = [];
  /** Public key (hex) → number and SPKI DER, shared by the workers; bounded. */
  private readonly keys = new Map<string, { id: number; spki: Uint8Array }>();
  /** The same, by array (a group's anchors share their binding's key array): no hex per job. */
  private byArray = new WeakMap<Uint8Array, { id: number; spki: Uint8Array }>();
  private nextKey = 0;

  constructor(
    readonly size: number,
    private readonly keyCapacity = 50_000,
  ) {}

  /** Starts the workers now rather than on the first large group (a thread takes tens of ms to start). */
  start(): void {
    this.workers = this.workers.filter((w) => !w.dead);
    while (this.workers.length < this.size) this.workers.push(new VerifyWorker());
  }

  /** Verifies every job (in parallel over the workers); result i is job i's. Rejects if a worker fails. */
  async verify(jobs: readonly VerifyJob[]): Promise<boolean[]> {
    if (jobs.length === 0) return [];
    if (this.keys.size > this.keyCapacity) this.forgetKeys();
    this.start();
    // chunks of at most CHUNK jobs, dealt to the workers in turn (a signing job waits for one chunk at most)
    const n = this.workers.length;
    const chunks = Math.max(n, Math.ceil(jobs.length / CHUNK));
    const per = Math.ceil(jobs.length / chunks);
    const parts: Array<Promise<Uint8Array> | Uint8Array> = [];
    for (let c = 0; c * per < jobs.length; c++) parts.push(this.send(this.workers[c % n]!, jobs.slice(c * per, (c + 1) * per)));
    const results = await Promise.all(parts);
    const out: boolean[] = [];
    for (const r of results) for (const v of r) out.push(v === 1);
    return out;
  }

  /**
   * Ed25519 signatures (64 bytes each, RFC 8032) of every message with the key `pkcs8` (an RFC 8410 PKCS #8
   * PrivateKeyInfo), spread over the workers; result i is message i's. Rejects if a worker fails.
   */
  async sign(pkcs8: Uint8Array, messages: readonly Uint8Array[]): Promise<Uint8Array[]> {
    if (messages.length === 0) return [];
    this.start();
    const per = Math.ceil(messages.length / this.workers.length);
    const parts = await Promise.all(this.workers.map((w, i) => {
      const part = messages.slice(i * per, (i + 1) * per);
      if (part.length === 0) return new Uint8Array(0);
      const offsets = [0];
      for (const m of part) offsets.push(offsets.at(-1)! + m.length);
      const data = new Uint8Array(offsets.at(-1)!);
      part.forEach((m, j) => data.set(m, offsets[j]!));
      return w.signAll(pkcs8, offsets, data);
    }));
    const out: Uint8Array[] = [];
    for (const r of parts) for (let at = 0; at < r.length; at += SIGNATURE_LENGTH) out.push(r.subarray(at, at + SIGNATURE_LENGTH));
    return out;
  }

  private send(w: VerifyWorker, jobs: readonly VerifyJob[]): Promise<Uint8Array> | Uint8Array {
    if (jobs.length === 0) return new Uint8Array(0);
    const newKeys: [number, Uint8Array][] = [];
    const keyIds = new Int32Array(jobs.length);
    const offsets = new Uint32Array(jobs.length + 1);
    let total = 0;
    for (const j of jobs) total += j.message.length + SIGNATURE_LENGTH;
    const data = new Uint8Array(total);
    let at = 0;
    for (const [i, j] of jobs.entries()) {
      const k = this.key(j.publicKey);
      if (!w.sent.has(k.id)) {
        w.sent.add(k.id);
        newKeys.push([k.id, k.spki]);
      }
      // A signature of another length never verifies (verifyNative): key -1 makes the worker's verify throw.
      const ok = j.signature.length === SIGNATURE_LENGTH;
      keyIds[i] = ok ? k.id : -1;
      data.set(j.message, at);
      if (ok) data.set(j.signature, at + j.message.length);
      at += j.message.length + SIGNATURE_LENGTH;
      offsets[i + 1] = at;
    }
    return w.run(newKeys, keyIds, offsets, data);
  }

  private key(publicKey: Uint8Array): { id: number; spki: Uint8Array } {
    const known = this.byArray.get(publicKey);
    if (known) return known;
    const hex = toHex(publicKey);
    let k = this.keys.get(hex);
    if (!k) {
      const der = nativePublicKey(publicKey).export({ format: 'der', type: 'spki' });
      k = { id: this.nextKey++, spki: new Uint8Array(der) };
      this.keys.set(hex, k);
    }
    this.byArray.set(publicKey, k);
    return k;
  }

  private forgetKeys(): void {
    this.keys.clear();
    this.byArray = new WeakMap();
    for (const w of this.workers) {
      w.sent.clear();
      w.reset = true;
    }
  }

  async close(): Promise<void> {
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((w) => w.worker.terminate()));
  }
}

/** The same check on this thread: verifyNative with a cached KeyObject (small groups, or no pool). */
export function verifyInline(jobs: readonly VerifyJob[], keyOf: (publicKey: Uint8Array) => KeyObject): boolean[] {
  return jobs.map((j) => verifyNative(j.signature, j.message, keyOf(j.publicKey)));
}
