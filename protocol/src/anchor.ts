// Anchor record v1 (docs/protocol.md §4): what interface 1 carries to the ledger. It names the reading
// by its salted hash only, so the ledger never learns consumption.
import { Reader, Writer } from './codec.js';
import { ProtocolError } from './errors.js';
import { KEY_ID_LENGTH } from './ed25519.js';
import { assertMeterId } from './meter-id.js';
import { RecordType, VERSION_1 } from './record-types.js';

export interface Anchor {
  meterId: string;
  seq: bigint;
  /** Key id of the session key that signed it (ed25519.keyId). */
  keyId: Uint8Array;
  /** SHA-256 of the canonical salted reading. */
  readingHash: Uint8Array;
}

export function encodeAnchor(a: Anchor): Uint8Array {
  assertMeterId(a.meterId);
  return new Writer()
    .u8(RecordType.Anchor)
    .u8(VERSION_1)
    .str8(a.meterId)
    .u64(a.seq)
    .fixed(a.keyId, KEY_ID_LENGTH)
    .fixed(a.readingHash, 32)
    .finish();
}

export function decodeAnchor(bytes: Uint8Array): Anchor {
  const rd = new Reader(bytes, 'anchor');
  const type = rd.u8('type');
  if (type !== RecordType.Anchor) throw new ProtocolError('WRONG_TYPE', `not an anchor record (type 0x${type.toString(16)})`);
  const version = rd.u8('version');
  if (version !== VERSION_1) throw new ProtocolError('BAD_VERSION', `unsupported anchor version ${version}`);
  const meterId = rd.str8('meterId');
  assertMeterId(meterId);
  const a: Anchor = {
    meterId,
    seq: rd.u64('seq'),
    keyId: rd.fixed(KEY_ID_LENGTH, 'keyId'),
    readingHash: rd.fixed(32, 'readingHash'),
  };
  rd.end();
  return a;
}
