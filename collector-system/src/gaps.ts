// Signed gap records on interface 2 (docs/protocol.md §12): "seqs X-Y of meter M are missing, because R",
// in a Delivery on the meter's reading topic. Verified like a reading (the session key that covers X signed the
// gap's anchor) and kept in their own SQLite file, so reconciliation can tell explained gaps from unexplained
// ones: explainedGaps(meterId).
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import {
  bytesEqual, decodeGap, decodeGapDelivery, gapReasonName, nativePublicKey, verifyRecordNative, type Gap, type GapDelivery,
} from '@meterseal/protocol';
import { CollectorError, REJECTION_CODES, describe, type RejectionCode } from './errors.js';
import type { ReplyTo, ResponseBody } from './intake.js';
import type { StatsCounter } from './stats.js';
import type { CollectorStore } from './store.js';
import { assertKeyCoversSeq } from './verify.js';

export const GAPS_DB_FILE = 'gaps.sqlite';

export interface ExplainedGap {
  meterId: string;
  firstSeq: bigint;
  lastSeq: bigint;
  fromMs: bigint;
  toMs: bigint;
  /** GapReason name: SerialFailure, PowerLoss, DiskFull, BusTimeout. */
  reason: string;
  /** "" when the meter's own agent signed; else the gateway that holds the meter's keys. */
  signer: string;
  /** The gap record and signature as delivered (evidence; its anchor is in the ledger at firstSeq). */
  record: Uint8Array;
  keyId: Uint8Array;
  signature: Uint8Array;
  receivedAt: string;
}

const toBytes = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

export class GapStore {
  readonly #db: Database.Database;

  constructor(path: string) {
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL'); // committed before the gap is acknowledged
    this.#db.defaultSafeIntegers(true);
    this.#db.exec(`CREATE TABLE IF NOT EXISTS gaps (
      meter_id TEXT NOT NULL, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL, from_ms INTEGER NOT NULL,
      to_ms INTEGER NOT NULL, reason INTEGER NOT NULL, signer TEXT NOT NULL, record BLOB NOT NULL, key_id BLOB NOT NULL,
      signature BLOB NOT NULL, received_at TEXT NOT NULL, PRIMARY KEY (meter_id, first_seq))`);
  }

  /** Idempotent by (meter, firstSeq); a different record there is a conflict and is not stored. */
  put(d: GapDelivery, receivedAt: string): 'stored' | 'duplicate' | 'conflict' {
    const g = d.gap;
    const prev = this.#db.prepare(`SELECT record FROM gaps WHERE meter_id = ? AND first_seq = ?`).get(g.meterId, g.firstSeq) as { record: Buffer } | undefined;
    if (prev) return bytesEqual(toBytes(prev.record), d.record) ? 'duplicate' : 'conflict';
    this.#db
      .prepare(`INSERT INTO gaps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(g.meterId, g.firstSeq, g.lastSeq, g.fromMs, g.toMs, g.reason, g.signer, Buffer.from(d.record), Buffer.from(d.keyId), Buffer.from(d.signature), receivedAt);
    return 'stored';
  }

  /**
   * The verified gaps of one meter, ordered by firstSeq: seqs X..Y that are missing for a signed reason. Values
   * come from the stored record bytes (what was signed), not from the index columns beside them; a row whose
   * bytes no longer decode is left out here (storedGaps shows it).
   */
  explainedGaps(meterId: string): ExplainedGap[] {
    return this.storedGaps(meterId).flatMap((r) => ('error' in r ? [] : [r]));
  }

  /** Every stored gap row of one meter, decoded from its record bytes, or why those bytes no longer decode. */
  storedGaps(meterId: string): (ExplainedGap | { meterId: string; firstSeq: bigint; error: string })[] {
    const rows = this.#db.prepare(`SELECT * FROM gaps WHERE meter_id = ? ORDER BY first_seq`).all(meterId) as Record<string, unknown>[];
    return rows.map((r) => {
      const record = toBytes(r.record as Buffer);
      let g: Gap;
      try {
        g = decodeGap(record);
      } catch (err) {
        return { meterId, firstSeq: r.first_seq as bigint, error: `stored gap record no longer decodes: ${describe(err)}` };
      }
      return {
        meterId: g.meterId, firstSeq: g.firstSeq, lastSeq: g.lastSeq, fromMs: g.fromMs, toMs: g.toMs, reason: gapReasonName(g.reason), signer: g.signer,
        record, keyId: toBytes(r.key_id as Buffer), signature: toBytes(r.signature as Buffer), receivedAt: r.received_at as string,
      };
    });
  }

  count(): number {
    return Number((this.#db.prepare(`SELECT count(*) AS n FROM gaps`).get() as { n: bigint }).n);
  }

  close(): void {
    this.#db.close();
  }
}

export function openGapStore(dataDir: string): GapStore {
  return new GapStore(join(dataDir, GAPS_DB_FILE));
}

export interface GapIntakeOptions {
  store: CollectorStore;
  gaps: GapStore;
  stats: StatsCounter;
  log: Logger;
  respond: (reply: ReplyTo, body: ResponseBody) => void;
}

/** Verifies and stores one gap delivery, then answers (op "delivery", ref = firstSeq). Never throws. */
export async function gapDelivery(o: GapIntakeOptions, meterId: string, payload: Uint8Array, reply: ReplyTo): Promise<void> {
  let ref = '';
  try {
    let d: GapDelivery;
    try {
      d = decodeGapDelivery(payload);
    } catch (cause) {
      throw new CollectorError('MALFORMED', `not a gap delivery: ${describe(cause)}`, { cause });
    }
    const g: Gap = d.gap;
    ref = g.firstSeq.toString();
    if (g.meterId !== meterId) throw new CollectorError('TOPIC_MISMATCH', `the gap is for meter ${g.meterId}, the topic for ${meterId}`);
    const keys = await o.store.sessionKeys(meterId); // ordered by firstSeq
    const key = keys.find((k) => bytesEqual(k.keyId, d.keyId));
    if (!key) throw new CollectorError('NO_SESSION_KEY', 'no key announcement for this session key yet; send the gap again after it');
    const later = keys.filter((k) => k.firstSeq > key.firstSeq).map((k) => k.firstSeq);
    assertKeyCoversSeq(key, g.firstSeq, later.length === 0 ? null : later.reduce((a, b) => (b < a ? b : a)));
    if (!verifyRecordNative(d.anchor, d.signature, nativePublicKey(key.sessionPublicKey))) {
      throw new CollectorError('BAD_SIGNATURE', 'the signature does not verify over the anchor of the gap record (§12)');
    }
    const outcome = o.gaps.put(d, new Date().toISOString());
    if (outcome === 'conflict') throw new CollectorError('CONFLICT', `a different gap at ${meterId} seq ${ref} is already stored`);
    o.log.info({ meterId, firstSeq: ref, lastSeq: g.lastSeq.toString(), reason: gapReasonName(g.reason), duplicate: outcome === 'duplicate' }, 'gap stored');
    o.respond(reply, { op: 'delivery', ref, ok: true, seq: ref, duplicate: outcome === 'duplicate' });
  } catch (err) {
    const known = err instanceof CollectorError && (REJECTION_CODES as readonly string[]).includes(err.code);
    const code = (known ? err.code : 'INTERNAL') as RejectionCode;
    o.stats.reject(code);
    o.log.warn({ meterId, ref, code, err: describe(err) }, 'gap refused');
    o.respond(reply, { op: 'delivery', ref, ok: false, error: { code, message: known ? (err as Error).message : 'internal error; send it again' } });
  }
}
