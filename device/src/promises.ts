// Inclusion promises on the agent (docs/protocol.md §10.4): every anchor the ledger acknowledges comes with a
// promise signed by the ledger key learned at registration. The agent keeps each promise in its outbox
// database (table `promises`) until a receipt proves inclusion: once the deadline has passed it asks the ledger
// for the receipt (`receipt` request) and checks it offline — the anchor entry is its own signed anchor, the
// checkpoint is signed by the ledger key, the inclusion proof leads to its root (RFC 9162 §2.1.3.2). A refusal
// or an invalid receipt after the deadline is a broken promise: logged at error, counted, and the promise
// bytes kept as evidence in <dataDir>/evidence/. A ledger that does not answer is asked again later.
import Database from 'better-sqlite3';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import {
  LedgerTopics, bytesEqual, fromHex, leafHash, noteKeyHash, openCheckpoint, openInclusionPromise, parseReceipt, sameLedgerOrigin, toHex,
  utf8, verifyInclusion, type InclusionPromise, type ResponseBody,
} from '@meterseal/protocol';
import { AgentError } from './errors.js';

export interface PromiseStats {
  /** Promises held, waiting for their deadline or receipt. */
  held: number;
  /** Promises whose receipt verified. */
  fulfilled: number;
  /** Promises with no valid receipt after their deadline (evidence kept). */
  brokenPromises: number;
  /** Answers whose promise did not verify (the anchor stays unacknowledged and is sent again). */
  badPromises: number;
}

/** What the tracker needs from the RPC client. */
export interface ReceiptRpc {
  readonly connected: boolean;
  request(op: 'receipt', ref: string, topic: string, payload: Uint8Array): Promise<ResponseBody>;
}

export interface PromiseTrackerOptions {
  /** Clock (epoch ms); default Date.now. */
  now?: () => number;
  /** Receipts asked for in one check, at most. Default 16. */
  batch?: number;
}

/** How long to wait before asking again for a receipt that lacked the witness quorum. */
const QUORUM_RECHECK_MS = 30_000;

type Row = { seq: bigint; promise: Buffer; anchor: Buffer; deadline_ms: bigint };

export class PromiseTracker {
  private readonly db: Database.Database;
  private ledger?: { publicKey: Uint8Array; origin: string };
  private badPromises = 0;
  private readonly now: () => number;
  private readonly batch: number;

  constructor(
    dbPath: string,
    private readonly evidenceDir: string,
    private readonly meterId: string,
    private readonly log: Logger,
    o: PromiseTrackerOptions = {},
  ) {
    this.now = o.now ?? Date.now;
    this.batch = o.batch ?? 16;
    this.db = new Database(dbPath); // the outbox database: a second connection, WAL
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.defaultSafeIntegers(true);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS promises (
        seq INTEGER PRIMARY KEY,
        promise BLOB NOT NULL,        -- the signed InclusionPromise (record || ledger signature)
        anchor BLOB NOT NULL,         -- the signed anchor it promises to include
        deadline_ms INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'held' CHECK (status IN ('held', 'fulfilled', 'broken')),
        checked_at TEXT,
        reason TEXT
      );
      CREATE INDEX IF NOT EXISTS promises_due ON promises (status, deadline_ms);
    `);
  }

  /** The ledger key and log origin from the identity certificate (enrolment). */
  setLedger(publicKey: Uint8Array, origin: string): void {
    this.ledger = { publicKey, origin };
  }

  get ready(): boolean {
    return this.ledger !== undefined;
  }

  /**
   * Checks the promise in an anchor answer and keeps it (replacing an earlier one for the same seq). Throws
   * AgentError BAD_PROMISE when it is absent, not signed by the ledger, or for another anchor or leaf.
   */
  accept(seq: bigint, signedAnchor: Uint8Array, promiseHex: unknown, leafIndex?: string): InclusionPromise {
    if (!this.ledger) throw new AgentError('NOT_ENROLLED', 'no ledger key yet to check promises with');
    if (typeof promiseHex !== 'string' || !/^([0-9a-f]{2}){1,1024}$/.test(promiseHex)) {
      this.badPromises++;
      throw new AgentError('BAD_PROMISE', `the ledger's answer to seq ${seq} carries no inclusion promise`);
    }
    const bytes = fromHex(promiseHex);
    let p: InclusionPromise;
    try {
      p = openInclusionPromise(bytes, this.ledger.publicKey, signedAnchor);
    } catch (cause) {
      this.badPromises++;
      throw new AgentError('BAD_PROMISE', `inclusion promise for seq ${seq}: ${(cause as Error).message}`, { cause });
    }
    // logOrigin: the ledger's origin, or one of its period logs "<origin>/<period>" — the ledger's answer to an
    // anchor resent after it was anchored in a since-closed period names that log (docs/ledger.md, rotation)
    if (p.seq !== seq || p.meterId !== this.meterId || !sameLedgerOrigin(this.ledger.origin, p.logOrigin) || (leafIndex !== undefined && p.leafIndex?.toString() !== leafIndex)) {
      this.badPromises++;
      throw new AgentError('BAD_PROMISE', `inclusion promise for seq ${seq} names ${p.meterId} seq ${p.seq} leaf ${p.leafIndex} in ${p.logOrigin}`);
    }
    this.db
      .prepare(`INSERT INTO promises (seq, promise, anchor, deadline_ms) VALUES (?, ?, ?, ?)
                ON CONFLICT (seq) DO UPDATE SET promise = excluded.promise, deadline_ms = excluded.deadline_ms
                WHERE promises.status = 'held'`)
      .run(seq, Buffer.from(bytes), Buffer.from(signedAnchor), p.deadlineMs);
    return p;
  }

  /** Held promises whose deadline has passed, oldest first. */
  due(limit = this.batch): { seq: bigint; promise: Uint8Array; anchor: Uint8Array }[] {
    const rows = this.db
      .prepare(`SELECT seq, promise, anchor, deadline_ms FROM promises WHERE status = 'held' AND deadline_ms <= ? ORDER BY deadline_ms LIMIT ?`)
      .all(BigInt(this.now()), limit) as Row[];
    return rows.map((r) => ({ seq: r.seq, promise: new Uint8Array(r.promise), anchor: new Uint8Array(r.anchor) }));
  }

  /** Asks for the receipt of every due promise and settles it. Network failures leave it held (asked again). */
  async checkDue(rpc: ReceiptRpc): Promise<void> {
    if (!this.ledger || !rpc.connected) return;
    for (const d of this.due()) {
      let body: ResponseBody;
      try {
        body = await rpc.request('receipt', `receipt:${d.seq}`, LedgerTopics.receipt, utf8.encode(JSON.stringify({ meterId: this.meterId, seq: d.seq.toString() })));
      } catch (err) {
        this.log.warn({ seq: d.seq.toString(), err: (err as Error).message }, 'receipt request failed; will ask again');
        return;
      }
      if (!body.ok && body.error.code === 'NOT_YET_COSIGNED') {
        // The anchor may well be in the log; what is missing is the witnesses' quorum, which is the witnesses'
        // availability, not the ledger's promise. Keep it held and ask again later (the promise bytes keep the
        // original deadline as evidence); a receipt settles it.
        this.log.warn({ seq: d.seq.toString(), recheckMs: QUORUM_RECHECK_MS }, 'receipt not yet cosigned by the witness quorum; will ask again');
        this.db.prepare(`UPDATE promises SET deadline_ms = ? WHERE seq = ?`).run(BigInt(this.now() + QUORUM_RECHECK_MS), d.seq);
        continue;
      }
      const reason = body.ok ? this.checkReceipt(d, (body as Record<string, unknown>).receipt) : `the ledger refused the receipt: ${body.error.code} ${body.error.message}`;
      if (reason === undefined) this.settle(d.seq, 'fulfilled');
      else this.broken(d, reason, body);
    }
  }

  /** undefined if the receipt proves the promised anchor is in the log under a checkpoint signed by the ledger. */
  private checkReceipt(d: { seq: bigint; promise: Uint8Array; anchor: Uint8Array }, receipt: unknown): string | undefined {
    const ledger = this.ledger!;
    try {
      const p = openInclusionPromise(d.promise, ledger.publicKey);
      const r = parseReceipt(receipt);
      if (r.meterId !== this.meterId || r.seq !== d.seq) return `the receipt is for ${r.meterId} seq ${r.seq}`;
      if (!bytesEqual(r.anchorEntry, d.anchor)) return 'the receipt names another anchor for this seq';
      if (p.leafIndex !== null && r.anchorProof.index !== p.leafIndex) return `the receipt puts the anchor at leaf ${r.anchorProof.index}, the promise at ${p.leafIndex}`;
      // c2sp.org/signed-note: the ledger's note key is named by the origin
      const verifier = { name: ledger.origin, keyHash: noteKeyHash(ledger.origin, ledger.publicKey), publicKey: ledger.publicKey };
      const cp = openCheckpoint(r.anchorProof.checkpoint, verifier);
      // the ledger's origin, or one of its period logs "<origin>/<period>" (docs/ledger.md, rotation by period)
      if (!sameLedgerOrigin(ledger.origin, cp.origin)) return `the receipt's checkpoint is for log "${cp.origin}", not ${ledger.origin}`;
      // a promise that names one period's log is kept only by a receipt against that log (its leaf index is that log's)
      if (p.logOrigin !== ledger.origin && cp.origin !== p.logOrigin) return `the receipt's checkpoint is for log "${cp.origin}", the promise names "${p.logOrigin}"`;
      if (!verifyInclusion(leafHash(d.anchor), r.anchorProof.index, cp.size, r.anchorProof.proof, cp.root)) { // RFC 9162 §2.1.3.2
        return `the inclusion proof does not lead to the root of the checkpoint of size ${cp.size}`;
      }
      return undefined;
    } catch (err) {
      return `invalid receipt: ${(err as Error).message}`;
    }
  }

  private settle(seq: bigint, status: 'fulfilled' | 'broken', reason?: string): void {
    this.db.prepare(`UPDATE promises SET status = ?, checked_at = ?, reason = ? WHERE seq = ?`).run(status, new Date(this.now()).toISOString(), reason ?? null, seq);
  }

  private broken(d: { seq: bigint; promise: Uint8Array; anchor: Uint8Array }, reason: string, answer: unknown): void {
    mkdirSync(this.evidenceDir, { recursive: true, mode: 0o700 });
    const base = join(this.evidenceDir, `broken-promise-${this.meterId}-${d.seq}`);
    writeFileSync(`${base}.promise`, d.promise); // the ledger-signed promise bytes: verifiable by anyone with the ledger key
    writeFileSync(`${base}.json`, `${JSON.stringify({
      meterId: this.meterId, seq: d.seq.toString(), reason, detectedAt: new Date(this.now()).toISOString(),
      promise: toHex(d.promise), anchor: toHex(d.anchor), answer,
    }, null, 2)}\n`);
    this.settle(d.seq, 'broken', reason);
    this.log.error({ seq: d.seq.toString(), reason, evidence: `${base}.promise` }, 'BROKEN PROMISE: the ledger did not include an anchor it promised to include');
  }

  stats(): PromiseStats {
    const r = this.db
      .prepare(`SELECT count(*) FILTER (WHERE status = 'held') AS held, count(*) FILTER (WHERE status = 'fulfilled') AS fulfilled,
                count(*) FILTER (WHERE status = 'broken') AS broken FROM promises`)
      .get() as { held: bigint; fulfilled: bigint; broken: bigint };
    return { held: Number(r.held), fulfilled: Number(r.fulfilled), brokenPromises: Number(r.broken), badPromises: this.badPromises };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
