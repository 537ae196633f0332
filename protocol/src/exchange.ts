// MeterExchangeApproval (0x0A, issue 5): a known meter came back with a different identity key (a replaced
// board, a rotated key); the ledger refuses it (KEY_MISMATCH) until an operator approves exactly that new
// key. Appended to the log as record || operator signature (docs/protocol.md §2.3). The record names the
// identity key it replaces, so it cannot be replayed after a later exchange.
//
//   MeterExchangeApproval: meterId str8 · oldIdentityKeyId fixed(8) · newIdentityPublicKey fixed(32) ·
//                          timeMs i64 · operatorCredential bytes16 (a signed OperatorCredential)
import { Reader, Writer } from './codec.js';
import { ProtocolError } from './errors.js';
import { assertAcceptablePublicKey, KEY_ID_LENGTH, PUBLIC_KEY_LENGTH } from './ed25519.js';
import { assertMeterId } from './meter-id.js';
import { RecordType, VERSION_1 } from './record-types.js';

export const METER_EXCHANGE_APPROVAL_TYPE = RecordType.MeterExchangeApproval;

export interface MeterExchangeApproval {
  meterId: string;
  oldIdentityKeyId: Uint8Array;
  newIdentityPublicKey: Uint8Array;
  timeMs: bigint;
  operatorCredential: Uint8Array;
}

export function encodeMeterExchangeApproval(a: MeterExchangeApproval): Uint8Array {
  assertMeterId(a.meterId);
  assertAcceptablePublicKey(a.newIdentityPublicKey);
  return new Writer().u8(METER_EXCHANGE_APPROVAL_TYPE).u8(VERSION_1).str8(a.meterId).fixed(a.oldIdentityKeyId, KEY_ID_LENGTH)
    .fixed(a.newIdentityPublicKey, PUBLIC_KEY_LENGTH).i64(a.timeMs).bytes16(a.operatorCredential).finish();
}

export function decodeMeterExchangeApproval(bytes: Uint8Array): MeterExchangeApproval {
  const rd = new Reader(bytes, 'MeterExchangeApproval');
  const t = rd.u8('type');
  if (t !== METER_EXCHANGE_APPROVAL_TYPE) throw new ProtocolError('WRONG_TYPE', `expected a MeterExchangeApproval record, got type 0x${t.toString(16)}`);
  const v = rd.u8('version');
  if (v !== VERSION_1) throw new ProtocolError('BAD_VERSION', `unsupported MeterExchangeApproval version ${v}`);
  const meterId = rd.str8('meterId');
  assertMeterId(meterId);
  const oldIdentityKeyId = rd.fixed(KEY_ID_LENGTH, 'oldIdentityKeyId');
  const newIdentityPublicKey = rd.fixed(PUBLIC_KEY_LENGTH, 'newIdentityPublicKey');
  assertAcceptablePublicKey(newIdentityPublicKey);
  const timeMs = rd.i64('timeMs');
  const operatorCredential = rd.bytes16('operatorCredential');
  rd.end();
  return { meterId, oldIdentityKeyId, newIdentityPublicKey, timeMs, operatorCredential };
}
