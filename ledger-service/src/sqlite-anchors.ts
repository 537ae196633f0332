// Anchor entries on SQLite, stored as their parts (sqlite-schema.ts): meter ids and session key ids are
// interned per meter as small integers, the seq is an integer (u64: see seqValue), and the reading hash ‖
// signature is one 96-byte BLOB. The log entry — the signed anchor, docs/protocol.md §4 — is re-encoded on
// read with the protocol's encoder, and an append is refused unless that re-encoding is exactly the entry,
// so nothing is lost by not storing it verbatim.
import { SIGNATURE_LENGTH, bytesEqual, encodeAnchor, encodeSigned, toHex } from '@meterseal/protocol';
import { LedgerError } from './errors.js';
import type { readers, writers } from './sqlite-schema.js';
import type { AnchorRow } from './store.js';

type Row = Record<string, unknown>;
const U63 = 1n << 63n;
const READING_HASH_LENGTH = 32;

/** A u64 seq as stored: an INTEGER below 2^63, else an 8-byte big-endian BLOB (sorted after every INTEGER). */
export function seqValue(seq: bigint): bigint | Buffer {
  if (seq < U63) return seq;
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(seq);
  return b;
}

export function seqFromValue(v: unknown): bigint {
  return typeof v === 'bigint' ? v : (v as Buffer).readBigUInt64BE(0);
}

/** A BLOB column as a plain Uint8Array (better-sqlite3 returns Buffers; no copy). */
export function bytes(v: unknown): Uint8Array {
  const b = v as Buffer;
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export class AnchorRows {
  // Interned numbers never change once committed; after a rolled-back transaction the caches are dropped.
  private readonly meterNums = new Map<string, bigint>();
  private readonly meterIds = new Map<bigint, string>();
  private readonly keyOrds = new Map<string, bigint>();
  private readonly keyIds = new Map<string, Uint8Array>();
  /** The writer's highest seq per meter number: a seq above it needs no lookup (meters count upwards). */
  private readonly maxSeqs = new Map<bigint, bigint | undefined>();

  constructor(
    private readonly q: ReturnType<typeof readers>,
    private readonly w: () => ReturnType<typeof writers>,
    /** Only the (single) writer may cache what the log holds; a read-only view follows another process. */
    private readonly writer: boolean,
  ) {}

  /** Drops every cached number (after a transaction that may have interned some was rolled back). */
  forget(): void {
    this.meterNums.clear();
    this.meterIds.clear();
    this.keyOrds.clear();
    this.keyIds.clear();
    this.maxSeqs.clear();
  }

  private maxSeqOf(meter: bigint): bigint | undefined {
    if (this.writer && this.maxSeqs.has(meter)) return this.maxSeqs.get(meter);
    const m = (this.q.maxSeq.get(meter) as Row).m;
    const v = m === null || m === undefined ? undefined : seqFromValue(m);
    if (this.writer) this.maxSeqs.set(meter, v);
    return v;
  }

  meterNum(meterId: string, create = false): bigint | undefined {
    let n = this.meterNums.get(meterId);
    if (n !== undefined) return n;
    n = (this.q.meterNum.get(meterId) as Row | undefined)?.num as bigint | undefined;
    if (n === undefined && create) n = BigInt(this.w().anchorMeter.run(meterId).lastInsertRowid);
    if (n !== undefined) {
      this.meterNums.set(meterId, n);
      this.meterIds.set(n, meterId);
    }
    return n;
  }

  private meterId(num: bigint): string {
    let id = this.meterIds.get(num);
    if (id === undefined) {
      id = (this.q.meterById.get(num) as Row | undefined)?.meter_id as string | undefined;
      if (id === undefined) throw new LedgerError('STORE_CORRUPT', `anchor meter number ${num} is not interned`);
      this.meterIds.set(num, id);
    }
    return id;
  }

  private keyOrd(meter: bigint, keyId: Uint8Array): bigint {
    const k = `${meter}/${toHex(keyId)}`;
    let ord = this.keyOrds.get(k) ?? ((this.q.keyOrd.get(meter, keyId) as Row | undefined)?.ord as bigint | undefined);
    if (ord === undefined) {
      ord = (this.q.keyCount.get(meter) as Row).n as bigint;
      this.w().anchorKey.run(meter, ord, keyId);
    }
    this.keyOrds.set(k, ord);
    return ord;
  }

  private keyId(meter: bigint, ord: bigint): Uint8Array {
    const k = `${meter}/${ord}`;
    let id = this.keyIds.get(k);
    if (id === undefined) {
      const r = this.q.keyByOrd.get(meter, ord) as Row | undefined;
      if (!r) throw new LedgerError('STORE_CORRUPT', `anchor key ${ord} of meter number ${meter} is not interned`);
      id = bytes(r.key_id);
      this.keyIds.set(k, id);
    }
    return id;
  }

  /** Inserts anchor entry `idx` (inside the caller's transaction); refuses an entry that is not the signed `a`. */
  insert(idx: bigint, entry: Uint8Array, a: Omit<AnchorRow, 'leafIndex'>): void {
    const recordLength = entry.length - SIGNATURE_LENGTH;
    if (recordLength <= 0 || a.readingHash.length !== READING_HASH_LENGTH || !bytesEqual(entry.subarray(0, recordLength), encodeAnchor(a))) {
      throw new LedgerError('STORE_BAD_ENTRY', `entry ${idx} is not the signed anchor of meter ${a.meterId} seq ${a.seq}`);
    }
    const meter = this.meterNum(a.meterId, true)!;
    const body = Buffer.allocUnsafe(READING_HASH_LENGTH + SIGNATURE_LENGTH);
    body.set(a.readingHash, 0);
    body.set(entry.subarray(recordLength), READING_HASH_LENGTH);
    const max = this.maxSeqOf(meter);
    this.w().anchor.run(idx, meter, seqValue(a.seq), this.keyOrd(meter, a.keyId), body);
    if (max === undefined || a.seq > max) this.maxSeqs.set(meter, a.seq);
  }

  row(r: Row): AnchorRow {
    const meter = r.meter as bigint;
    return {
      meterId: this.meterId(meter),
      seq: seqFromValue(r.seq),
      leafIndex: r.idx as bigint,
      readingHash: bytes(r.body).subarray(0, READING_HASH_LENGTH),
      keyId: this.keyId(meter, r.key as bigint),
    };
  }

  /** The log entry of an anchors row: the signed anchor, re-encoded. */
  entry(r: Row): Uint8Array {
    return encodeSigned(encodeAnchor(this.row(r)), bytes(r.body).subarray(READING_HASH_LENGTH));
  }

  get(meterId: string, seq: bigint): AnchorRow | undefined {
    const meter = this.meterNum(meterId);
    if (meter === undefined) return undefined;
    if (this.writer) {
      const max = this.maxSeqOf(meter);
      if (max === undefined || seq > max) return undefined;
    }
    const r = this.q.anchor.get(meter, seqValue(seq)) as Row | undefined;
    return r && this.row(r);
  }

  inRange(meterId: string, from: bigint, to: bigint, limit: number): AnchorRow[] {
    const meter = this.meterNum(meterId);
    if (meter === undefined) return [];
    return (this.q.anchorRange.all(meter, seqValue(from), seqValue(to), limit) as Row[]).map((r) => this.row(r));
  }

  maxSeq(meterId: string): bigint | undefined {
    const meter = this.meterNum(meterId);
    return meter === undefined ? undefined : this.maxSeqOf(meter);
  }
}
