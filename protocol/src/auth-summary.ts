// AuthSummary (0x0B, issue 3 item 4 / issue 5): failed authentications past a threshold are not logged one
// by one; the ledger appends one summary per meter (or, for ids that are not registered, one for all of
// them) and window, so failures cannot grow the log without bound.
//
//   AuthSummary: scope u8 (0 one meter, 1 unregistered meter ids) · meterId str8 (empty for scope 1) ·
//                fromMs i64 · toMs i64 · failures u32 · reasonCount u8 · (reason str8 · count u32)*
import { Reader, Writer } from './codec.js';
import { ProtocolError } from './errors.js';
import { assertMeterId } from './meter-id.js';
import { RecordType, VERSION_1 } from './record-types.js';

export const AUTH_SUMMARY_TYPE = RecordType.AuthSummary;

export interface AuthSummary {
  scope: 'meter' | 'unregistered';
  /** '' for scope 'unregistered'. */
  meterId: string;
  fromMs: bigint;
  toMs: bigint;
  /** Failures summarised (not logged one by one). */
  failures: number;
  /** Per reason (sorted by reason, each at most once). */
  reasons: Array<{ reason: string; count: number }>;
}

function check(s: AuthSummary): void {
  if (s.scope === 'meter') assertMeterId(s.meterId);
  else if (s.meterId !== '') throw new ProtocolError('BAD_SCOPE', 'an unregistered-ids summary names no meter');
  if (s.toMs < s.fromMs) throw new ProtocolError('RANGE', 'toMs is before fromMs');
  if (s.reasons.length > 16) throw new ProtocolError('RANGE', 'at most 16 reasons');
  let total = 0;
  for (let i = 0; i < s.reasons.length; i++) {
    const r = s.reasons[i]!;
    if (r.reason.length === 0 || r.reason.length > 32 || !/^[a-z-]+$/.test(r.reason)) throw new ProtocolError('BAD_REASON', 'a reason is 1..32 of a-z and -');
    if (i > 0 && s.reasons[i - 1]!.reason >= r.reason) throw new ProtocolError('NOT_CANONICAL', 'reasons must be sorted and unique');
    total += r.count;
  }
  if (total !== s.failures) throw new ProtocolError('RANGE', 'the reason counts must add up to failures');
}

export function encodeAuthSummary(s: AuthSummary): Uint8Array {
  check(s);
  const w = new Writer().u8(AUTH_SUMMARY_TYPE).u8(VERSION_1).u8(s.scope === 'meter' ? 0 : 1).str8(s.meterId)
    .i64(s.fromMs).i64(s.toMs).u32(s.failures).u8(s.reasons.length);
  for (const r of s.reasons) w.str8(r.reason).u32(r.count);
  return w.finish();
}

export function decodeAuthSummary(bytes: Uint8Array): AuthSummary {
  const rd = new Reader(bytes, 'AuthSummary');
  const t = rd.u8('type');
  if (t !== AUTH_SUMMARY_TYPE) throw new ProtocolError('WRONG_TYPE', `expected an AuthSummary record, got type 0x${t.toString(16)}`);
  const v = rd.u8('version');
  if (v !== VERSION_1) throw new ProtocolError('BAD_VERSION', `unsupported AuthSummary version ${v}`);
  const scopeByte = rd.u8('scope');
  if (scopeByte > 1) throw new ProtocolError('BAD_SCOPE', `unknown scope ${scopeByte}`);
  const meterId = rd.str8('meterId');
  const fromMs = rd.i64('fromMs');
  const toMs = rd.i64('toMs');
  const failures = rd.u32('failures');
  const n = rd.u8('reasonCount');
  const reasons: AuthSummary['reasons'] = [];
  for (let i = 0; i < n; i++) reasons.push({ reason: rd.str8('reason'), count: rd.u32('count') });
  rd.end();
  const s: AuthSummary = { scope: scopeByte === 0 ? 'meter' : 'unregistered', meterId, fromMs, toMs, failures, reasons };
  check(s);
  return s;
}
