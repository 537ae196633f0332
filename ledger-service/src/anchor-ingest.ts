// Group commit of anchors. Anchors that arrive while the ledger is busy — within one turn of the event loop,
// or while the previous group is being verified or committed — are decided together and appended in ONE
// transaction (one fsync, synchronous=FULL), and every one of them is answered only after that transaction
// has committed. Order is arrival order throughout: the leaf indexes, the duplicate and conflict decisions
// (also between anchors of the same group) and the refusals are exactly those of deciding the anchors one by
// one (handlers/anchor.ts). Every other request (register, challenge, auth, bind) runs `exclusive`ly: after
// every anchor that arrived before it has been committed and answered, and before any that arrived after it.
//
// Pipeline: a group is prepared (state reads) when it is taken, its signatures are verified on the worker
// pool (verify-pool.ts) or, for a small group, on the event loop, and it is decided and committed after the
// group before it; so the next group is verified while this one commits and its answers go out. A group's
// inclusion promises are signed on the same workers (ingest-promises.ts) while its transaction commits.
import { bytesEqual } from '@meterseal/protocol';
import type { LedgerDeps, RequestContext } from './handlers/context.js';
import {
  PrepareMemo, anchorFields, decideAnchor, findCommitted, parseAnchor, prepareAnchor, type GroupAnchor, type ParsedAnchor, type PreparedAnchor,
} from './handlers/anchor.js';
import type { PendingEntry } from './log.js';
import type { AnchorRow } from './store.js';
import { verifyInline, type VerifyJob, type VerifyPool } from './verify-pool.js';
import { PromiseIssuer, type PromiseRequest } from './ingest-promises.js';

export interface IngestOptions {
  /** Most anchors in one group (one transaction). */
  maxGroup: number;
  /** Verifies large groups off the event loop; without it everything is verified inline. */
  pool?: VerifyPool;
  /** Groups with fewer signatures than this are verified inline (a worker round trip costs more). */
  inlineBelow?: number;
  /** Groups taken and not yet committed (2: one verifying while the one before commits). */
  maxInFlight?: number;
  /** Queued requests above which room() asks the transport to stop taking more (default 8 groups). */
  highWater?: number;
}

type Fields = Record<string, unknown>;
interface AnchorItem {
  kind: 'anchor';
  parsed: ParsedAnchor;
  resolve(f: Fields): void;
  reject(err: unknown): void;
}
interface ExclusiveItem {
  kind: 'exclusive';
  run(): void;
}
type Prepared = PreparedAnchor | { error: unknown };
type Outcome = { fields: Fields; appended?: boolean } | { error: unknown };

export interface IngestStats {
  groups: number;
  anchors: number;
  largestGroup: number;
}

export class AnchorIngest {
  private readonly queue: Array<AnchorItem | ExclusiveItem> = [];
  private inFlight = 0;
  private chain: Promise<void> = Promise.resolve();
  private scheduled = false;
  /** Groups committed so far: a group prepared before another committed re-reads (meter, seq) rows. */
  private generation = 0;
  private readonly roomWaiters: Array<() => void> = [];
  readonly stats: IngestStats = { groups: 0, anchors: 0, largestGroup: 0 };
  private readonly promises: PromiseIssuer;

  constructor(
    private readonly deps: LedgerDeps,
    private readonly o: IngestOptions,
  ) {
    this.promises = new PromiseIssuer(deps, o.pool, o.inlineBelow ?? 32, (err) => {
      deps.logger.error({ err }, 'promise signing worker failed; signing this group on the event loop');
    });
  }

  /**
   * One anchor: resolves with its answer's fields once its group has committed, rejects with its refusal.
   * A payload that cannot be an anchor for its topic is refused at once (throws).
   */
  anchor(ctx: RequestContext, payload: Uint8Array): Promise<Fields> {
    const parsed = parseAnchor(ctx, payload);
    return new Promise<Fields>((resolve, reject) => {
      this.queue.push({ kind: 'anchor', parsed, resolve, reject });
      this.schedule();
    });
  }

  /** Runs `fn` after every anchor queued before it has been committed and answered; at once when idle. */
  exclusive<T>(fn: () => T): T | Promise<T> {
    if (this.queue.length === 0 && this.inFlight === 0) return fn();
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        kind: 'exclusive',
        run: () => {
          try {
            resolve(fn());
          } catch (err) {
            reject(err);
          }
        },
      });
      this.schedule();
    });
  }

  /**
   * Backpressure for the transport: undefined while the queue is short; otherwise a promise that resolves
   * once it has drained to half the high-water mark (the transport holds the publisher's next packets).
   */
  room(): Promise<void> | undefined {
    if (this.queue.length < this.highWater) return undefined;
    return new Promise<void>((r) => this.roomWaiters.push(r));
  }

  private get highWater(): number {
    return this.o.highWater ?? 8 * this.o.maxGroup;
  }

  /** The next turn of the event loop takes what has arrived by then: everything read from the sockets. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      if (head.kind === 'exclusive') {
        if (this.inFlight > 0) break; // after the groups ahead of it
        this.queue.shift();
        head.run();
        continue;
      }
      if (this.inFlight >= (this.o.maxInFlight ?? 2)) break;
      let n = 1;
      while (n < this.o.maxGroup && this.queue[n]?.kind === 'anchor') n++;
      this.start(this.queue.splice(0, n) as AnchorItem[]);
    }
    if (this.queue.length <= this.highWater / 2) for (const r of this.roomWaiters.splice(0)) r();
  }

  private start(group: AnchorItem[]): void {
    this.inFlight++;
    const generation = this.generation;
    const memo = new PrepareMemo(this.deps);
    const prepared: Prepared[] = group.map((item) => {
      try {
        return prepareAnchor(item.parsed, this.deps, memo);
      } catch (error) {
        return { error };
      }
    });
    const verified = this.verify(prepared);
    this.chain = this.chain
      .then(() => verified)
      .then((ok) => this.commit(group, prepared, ok, generation))
      .catch((err: unknown) => {
        for (const item of group) item.reject(err);
      })
      .finally(() => {
        this.inFlight--;
        this.pump();
      });
  }

  private verify(prepared: Prepared[]): boolean[] | Promise<boolean[]> {
    const jobs: VerifyJob[] = [];
    const at: number[] = [];
    prepared.forEach((p, i) => {
      if ('anchor' in p && p.publicKey && p.message) {
        jobs.push({ publicKey: p.publicKey, message: p.message, signature: p.signature });
        at.push(i);
      }
    });
    const spread = (ok: boolean[]): boolean[] => {
      const out = new Array<boolean>(prepared.length).fill(false);
      at.forEach((i, j) => (out[i] = ok[j]!));
      return out;
    };
    const inline = (): boolean[] => spread(verifyInline(jobs, (k) => this.deps.keyCache.get(k)));
    const pool = this.o.pool;
    if (!pool || pool.size === 0 || jobs.length < (this.o.inlineBelow ?? 32)) return inline();
    return pool.verify(jobs).then(spread, (err: unknown) => {
      this.deps.logger.error({ err }, 'verify worker failed; verifying this group on the event loop');
      return inline();
    });
  }

  /**
   * Decides in arrival order, appends the group in one transaction, then answers every anchor of it. The
   * group's promises are signed on the pool while the transaction commits; no answer leaves before both.
   */
  private async commit(group: AnchorItem[], prepared: Prepared[], verified: boolean[], generation: number): Promise<void> {
    const { log, store } = this.deps;
    const stale = generation !== this.generation;
    const inGroup = new Map<string, GroupAnchor>();
    const entries: PendingEntry[] = [];
    const first = log.size;
    const requests: PromiseRequest[] = [];
    const promised: Fields[] = [];
    const withPromise = (fields: Fields, p: PreparedAnchor, leafIndex: bigint): Fields => {
      const a = p.anchor;
      const logOrigin = typeof fields.logOrigin === 'string' ? fields.logOrigin : undefined; // a closed period's log
      requests.push({ subject: { meterId: a.meterId, seq: a.seq, readingHash: a.readingHash, signed: p.signed }, leafIndex, ...(logOrigin !== undefined ? { logOrigin } : {}) });
      promised.push(fields);
      return fields;
    };
    const outcomes: Outcome[] = prepared.map((p, i) => {
      if ('error' in p) return { error: p.error };
      try {
        const a = p.anchor;
        const key = `${a.meterId}\u0000${a.seq}`;
        let existing: AnchorRow | GroupAnchor | undefined = inGroup.get(key);
        let same = existing !== undefined && bytesEqual((existing as GroupAnchor).signed, p.signed);
        if (!existing && p.committed) {
          existing = p.committed;
          same = p.committedSame === true;
        } else if (!existing && stale && !p.meterRefusal) {
          findCommitted(p, this.deps); // the current log's row, or a closed period's after a rotation (anchor.ts)
          existing = p.committed;
          same = p.committedSame === true;
        }
        const d = decideAnchor(p, existing, verified[i] === true, same);
        // anchorFields without deps: the answer's fields but no promise — it is signed below, in one batch
        if (d.kind === 'duplicate') return { fields: withPromise(anchorFields(a.seq, d.leafIndex, true, p), p, d.leafIndex), appended: d.pending };
        const leafIndex = first + BigInt(entries.length);
        entries.push({ entry: p.signed, effect: { kind: 'anchor', anchor: { meterId: a.meterId, seq: a.seq, readingHash: a.readingHash, keyId: a.keyId } } });
        inGroup.set(key, { leafIndex, readingHash: a.readingHash, signed: p.signed });
        return { fields: withPromise(anchorFields(a.seq, leafIndex, false, p), p, leafIndex), appended: true };
      } catch (error) {
        return { error };
      }
    });

    // the records are issued now (issue time); signing is posted to the workers now and overlaps the commit
    const signing = this.promises.sign(this.promises.build(requests));
    let failure: { err: unknown } | undefined;
    if (entries.length > 0) {
      try {
        log.appendBatch(entries); // ONE transaction, committed (synchronous=FULL) when this returns
        this.generation++;
      } catch (err) {
        failure = { err };
      }
    }
    this.stats.groups++;
    this.stats.anchors += group.length;
    this.stats.largestGroup = Math.max(this.stats.largestGroup, group.length);
    const signed = await signing;
    promised.forEach((fields, i) => (fields.promise = signed[i]));
    // Only now, after the commit, does any answer of this group leave.
    outcomes.forEach((o, i) => {
      const item = group[i]!;
      if ('error' in o) item.reject(o.error);
      else if (o.appended && failure) item.reject(failure.err);
      else item.resolve(o.fields);
    });
  }
}
