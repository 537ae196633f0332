// Signed corrections on interface 2 (docs/protocol.md §14): "the reading at seq S (hash H) should have read
// these values, because R", at the correction's own seq. Verified like a reading (the session key that covers the
// correction's seq signed its anchor), checked against the stored original (it must exist and still re-encode to
// H), and kept in their own SQLite file. The original reading is never touched: reconciliation shows it as
// `adjusted`, with the correction's values beside it.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import {
  bytesEqual, decodeCorrection, decodeCorrectionDelivery, encodeReading, nativePublicKey, readingHash, toHex, verifyRecordNative,
  type Correction, type CorrectionDelivery,
} from '@meterseal/protocol';
import { CollectorError, REJECTION_CODES, describe, type RejectionCode } from './errors.js';
import type { ReplyTo, ResponseBody } from './intake.js';
import type { StatsCounter } from './stats.js';
import type { CollectorStore } from './store.js';
import { assertKeyCoversSeq } from './verify.js';

export const CORRECTIONS_DB_FILE = 'corrections.sqlite';

export interface StoredCorrection {
  /** Decoded from the stored record bytes (the columns beside it are only an index). */
  correction: Correction;
  /** The correction record and signature as delivered (evidence; its anchor is in the ledger at correction.seq). */
  record: Uint8Array;
  keyId: Uint8Array;
  signature: Uint8Array;
  receivedAt: string;
}

const toBytes = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

export class CorrectionStore {
  readonly #db: Database.Database;

  constructor(path: string) {
    try {
      this.#db = new Database(path);
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma('synchronous = FULL'); // committed before the correction is acknowledged
      this.#db.defaultSafeIntegers(true);
      this.#db.exec(`CREATE TABLE IF NOT EXISTS corrections (
        meter_id TEXT NOT NULL, seq INTEGER NOT NULL, original_seq INTEGER NOT NULL, record BLOB NOT NULL,
        key_id BLOB NOT NULL, signature BLOB NOT NULL, received_at TEXT NOT NULL, PRIMARY KEY (meter_id, seq))`);
    } catch (cause) {
      throw new CollectorError('STORE_FAILED', `cannot open the corrections in ${path}`, { cause });
    }
  }

  /** Idempotent by (meter, seq); a different record there is a conflict and is not stored. */
  put(d: CorrectionDelivery, receivedAt: string): 'stored' | 'duplicate' | 'conflict' {
    const c = d.correction;
    const prev = this.#db.prepare(`SELECT record FROM corrections WHERE meter_id = ? AND seq = ?`).get(c.meterId, c.seq) as { record: Buffer } | undefined;
    if (prev) return bytesEqual(toBytes(prev.record), d.record) ? 'duplicate' : 'conflict';
    this.#db.prepare(`INSERT INTO corrections VALUES (?, ?, ?, ?, ?, ?, ?)`)
      .run(c.meterId, c.seq, c.originalSeq, Buffer.from(d.record), Buffer.from(d.keyId), Buffer.from(d.signature), receivedAt);
    return 'stored';
  }

  /**
   * One meter's corrections ordered by their own seq, decoded from the stored record bytes. A row whose bytes no
   * longer decode (edited at rest) is returned with `error` instead, so reconciliation can show it.
   */
  corrections(meterId: string): (StoredCorrection | { meterId: string; seq: bigint; error: string })[] {
    const rows = this.#db.prepare(`SELECT * FROM corrections WHERE meter_id = ? ORDER BY seq`).all(meterId) as Record<string, unknown>[];
    return rows.map((r) => {
      const record = toBytes(r.record as Buffer);
      try {
        return { correction: decodeCorrection(record), record, keyId: toBytes(r.key_id as Buffer), signature: toBytes(r.signature as Buffer), receivedAt: r.received_at as string };
      } catch (err) {
        return { meterId, seq: r.seq as bigint, error: `stored correction no longer decodes: ${describe(err)}` };
      }
    });
  }

  /** Meter ids with at least one correction, sorted. */
  meters(): string[] {
    return (this.#db.prepare(`SELECT DISTINCT meter_id FROM corrections ORDER BY meter_id`).all() as { meter_id: string }[]).map((r) => r.meter_id);
  }

  count(): number {
    return Number((this.#db.prepare(`SELECT count(*) AS n FROM corrections`).get() as { n: bigint }).n);
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}

export function openCorrectionStore(dataDir: string): CorrectionStore {
  return new CorrectionStore(join(dataDir, CORRECTIONS_DB_FILE));
}

export interface CorrectionIntakeOptions {
  store: CollectorStore;
  corrections: CorrectionStore;
  stats: StatsCounter;
  log: Logger;
  respond: (reply: ReplyTo, body: ResponseBody) => void;
}

/**
 * Verifies and stores one correction delivery, then answers (op "delivery", ref = the correction's seq).
 * Refusals: MALFORMED, TOPIC_MISMATCH, NO_SESSION_KEY, KEY_NOT_VALID_FOR_SEQ, BAD_SIGNATURE, UNKNOWN_ORIGINAL
 * (no stored reading at originalSeq, or its stored values do not hash to originalHash), CONFLICT (a reading or
 * another correction holds its seq). Never throws.
 */
export async function correctionDelivery(o: CorrectionIntakeOptions, meterId: string, payload: Uint8Array, reply: ReplyTo): Promise<void> {
  let ref = '';
  try {
    let d: CorrectionDelivery;
    try {
      d = decodeCorrectionDelivery(payload);
    } catch (cause) {
      throw new CollectorError('MALFORMED', `not a correction delivery: ${describe(cause)}`, { cause });
    }
    const c = d.correction;
    ref = c.seq.toString();
    if (c.meterId !== meterId) throw new CollectorError('TOPIC_MISMATCH', `the correction is for meter ${c.meterId}, the topic for ${meterId}`);
    const keys = await o.store.sessionKeys(meterId); // ordered by firstSeq
    const key = keys.find((k) => bytesEqual(k.keyId, d.keyId));
    if (!key) throw new CollectorError('NO_SESSION_KEY', 'no key announcement for this session key yet; send the correction again after it');
    const later = keys.filter((k) => k.firstSeq > key.firstSeq).map((k) => k.firstSeq);
    assertKeyCoversSeq(key, c.seq, later.length === 0 ? null : later.reduce((a, b) => (b < a ? b : a)));
    if (!verifyRecordNative(d.anchor, d.signature, nativePublicKey(key.sessionPublicKey))) {
      throw new CollectorError('BAD_SIGNATURE', 'the signature does not verify over the anchor of the correction record (§14)');
    }
    const [original] = await o.store.readings(meterId, c.originalSeq, c.originalSeq, 1);
    if (!original) throw new CollectorError('UNKNOWN_ORIGINAL', `no reading of ${meterId} at seq ${c.originalSeq} is stored; a correction must name a stored reading`);
    let storedHash: Uint8Array | null = null;
    try {
      storedHash = readingHash(encodeReading(original.reading));
    } catch {
      storedHash = null;
    }
    if (storedHash === null || !bytesEqual(storedHash, c.originalHash)) {
      throw new CollectorError('UNKNOWN_ORIGINAL', `the reading stored at ${meterId} seq ${c.originalSeq} does not hash to ${toHex(c.originalHash)}`);
    }
    const [taken] = await o.store.readings(meterId, c.seq, c.seq, 1);
    if (taken) throw new CollectorError('CONFLICT', `a reading is stored at ${meterId} seq ${ref}; a correction takes a seq of its own`);
    const outcome = o.corrections.put(d, new Date().toISOString());
    if (outcome === 'conflict') throw new CollectorError('CONFLICT', `a different correction at ${meterId} seq ${ref} is already stored`);
    o.log.info({ meterId, seq: ref, originalSeq: c.originalSeq.toString(), duplicate: outcome === 'duplicate' }, 'correction stored');
    o.respond(reply, { op: 'delivery', ref, ok: true, seq: ref, duplicate: outcome === 'duplicate' });
  } catch (err) {
    const known = err instanceof CollectorError && (REJECTION_CODES as readonly string[]).includes(err.code);
    const code = (known ? err.code : 'INTERNAL') as RejectionCode;
    o.stats.reject(code);
    o.log.warn({ meterId, ref, code, err: describe(err) }, 'correction refused');
    o.respond(reply, { op: 'delivery', ref, ok: false, error: { code, message: known ? (err as Error).message : 'internal error; send it again' } });
  }
}
