// The few fields of a stored reading's canonical bytes (docs/protocol.md §3) that the store and reconciliation
// need besides its hash — meter id, seq and agent time — read at their offsets without decoding the rest.
// Reconciliation hashes the whole stored encoding (which holds every value) and takes the times from the same
// bytes, so no stored value is trusted beside them. Anything that is not the head of a reading record gives null.
import { READING_VERSION_2, RecordType, VERSION_1, utf8 } from '@meterseal/protocol';

export interface ReadingHead {
  seq: bigint;
  agentTimeMs: bigint;
  /** The meter id's UTF-8 bytes are bytes[3, 3 + meterIdLength) (str8, §2.2). */
  meterIdLength: number;
}

/** An optional field (§2.2 presence byte 0 or 1, then `size` bytes when present): the offset after it, or -1. */
function skipOptional(b: Uint8Array, at: number, size: (at: number) => number): number {
  if (at >= b.length) return -1;
  const p = b[at];
  if (p === 0) return at + 1;
  if (p !== 1) return -1;
  return at + 1 + size(at + 1);
}

/** The head of a reading record, or null if `b` does not start like one (type, version, lengths in range). */
export function readingHead(b: Uint8Array): ReadingHead | null {
  if (b.length < 3 || b[0] !== RecordType.Reading) return null; // §2.1 type byte, then the version
  const version = b[1];
  if (version !== VERSION_1 && version !== READING_VERSION_2) return null;
  const idLength = b[2]!;
  let at = 3 + idLength;
  if (at + 8 > b.length) return null;
  // u64 / i64 big-endian (§2.2); a Buffer (as SQLite hands rows out) reads them without a DataView
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const seq = buf.readBigUInt64BE(at);
  at = skipOptional(b, at + 8, () => 8); // meterTimeMs
  if (version === READING_VERSION_2) {
    if (at >= 0) at = skipOptional(b, at, (i) => (i < b.length ? 1 + b[i]! : b.length)); // meterIdentity, str8
    if (at >= 0) at = skipOptional(b, at, () => 2); // meterClockDeviationMin
    if (at >= 0) at = skipOptional(b, at, () => 1); // meterClockStatus
  }
  if (at < 0 || at + 8 > b.length) return null;
  return { seq, agentTimeMs: buf.readBigInt64BE(at), meterIdLength: idLength };
}

/** A matcher for one meter: the head of `b` if it is a reading of `meterId` at `seq` (`h`: its head, if parsed already). */
export function headMatcher(meterId: string): (b: Uint8Array, seq: bigint, h?: ReadingHead | null) => ReadingHead | null {
  const id = utf8.encode(meterId);
  return (b, seq, h = readingHead(b)) => {
    if (h === null || h.seq !== seq || h.meterIdLength !== id.length) return null;
    for (let i = 0; i < id.length; i++) if (b[3 + i] !== id[i]) return null;
    return h;
  };
}
