// Revocation (0x09, issue 5): an operator revokes a meter. Appended to the ledger's log as
// record || operator signature (docs/protocol.md §2.3); the ledger then refuses that meter's anchors with
// reason REVOKED. The record names the identity key it revokes, so it cannot be replayed against a later
// (exchanged) identity of the same meter id.
//
//   Revocation: meterId str8 · identityKeyId fixed(8) · reason str8 · timeMs i64 ·
//               operatorCredential bytes16 (a signed OperatorCredential, operator.ts)
import { Reader, Writer } from './codec.js';
import { ProtocolError } from './errors.js';
import { KEY_ID_LENGTH } from './ed25519.js';
import { assertMeterId } from './meter-id.js';
import { assertReason } from './operator.js';
import { RecordType, VERSION_1 } from './record-types.js';

export const REVOCATION_TYPE = RecordType.Revocation;

export interface Revocation {
  meterId: string;
  identityKeyId: Uint8Array;
  reason: string;
  timeMs: bigint;
  operatorCredential: Uint8Array;
}

export function encodeRevocation(r: Revocation): Uint8Array {
  assertMeterId(r.meterId);
  assertReason(r.reason);
  return new Writer().u8(REVOCATION_TYPE).u8(VERSION_1).str8(r.meterId).fixed(r.identityKeyId, KEY_ID_LENGTH)
    .str8(r.reason).i64(r.timeMs).bytes16(r.operatorCredential).finish();
}

export function decodeRevocation(bytes: Uint8Array): Revocation {
  const rd = new Reader(bytes, 'Revocation');
  const t = rd.u8('type');
  if (t !== REVOCATION_TYPE) throw new ProtocolError('WRONG_TYPE', `expected a Revocation record, got type 0x${t.toString(16)}`);
  const v = rd.u8('version');
  if (v !== VERSION_1) throw new ProtocolError('BAD_VERSION', `unsupported Revocation version ${v}`);
  const meterId = rd.str8('meterId');
  assertMeterId(meterId);
  const identityKeyId = rd.fixed(KEY_ID_LENGTH, 'identityKeyId');
  const reason = rd.str8('reason');
  assertReason(reason);
  const timeMs = rd.i64('timeMs');
  const operatorCredential = rd.bytes16('operatorCredential');
  rd.end();
  return { meterId, identityKeyId, reason, timeMs, operatorCredential };
}
