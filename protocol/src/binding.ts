// Session-key binding (docs/protocol.md §7; seed 001 step 3): signed by the meter's identity key, naming
// the first sequence number the session key covers. It stays valid until the next binding.
import { assertMeterId } from './meter-id.js';
import { readHeader, writeHeader } from './header.js';
import { KEY_ID_LENGTH } from './ed25519.js';

export interface KeyBinding {
  meterId: string;
  identityKeyId: Uint8Array;
  sessionPublicKey: Uint8Array;
  firstSeq: bigint;
  createdAtMs: bigint;
}

export function encodeKeyBinding(b: KeyBinding): Uint8Array {
  assertMeterId(b.meterId);
  return writeHeader('KeyBinding')
    .str8(b.meterId).fixed(b.identityKeyId, KEY_ID_LENGTH).fixed(b.sessionPublicKey, 32).u64(b.firstSeq).i64(b.createdAtMs)
    .finish();
}

export function decodeKeyBinding(bytes: Uint8Array): KeyBinding {
  const rd = readHeader(bytes, 'KeyBinding');
  const meterId = rd.str8('meterId');
  assertMeterId(meterId);
  const b = {
    meterId,
    identityKeyId: rd.fixed(KEY_ID_LENGTH, 'identityKeyId'),
    sessionPublicKey: rd.fixed(32, 'sessionPublicKey'),
    firstSeq: rd.u64('firstSeq'),
    createdAtMs: rd.i64('createdAtMs'),
  };
  rd.end();
  return b;
}
