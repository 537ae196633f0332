// Authentication (docs/protocol.md §6; seed 001 step 2): a nonce challenge answered with the identity
// key; every result, pass or fail, becomes a log entry.
import { assertMeterId } from './meter-id.js';
import { readHeader, writeHeader } from './header.js';
import { ProtocolError } from './errors.js';

export const NONCE_LENGTH = 32;

export interface AuthResponse {
  meterId: string;
  nonce: Uint8Array;
  timeMs: bigint;
}

export function encodeAuthResponse(a: AuthResponse): Uint8Array {
  assertMeterId(a.meterId);
  return writeHeader('AuthResponse').str8(a.meterId).fixed(a.nonce, NONCE_LENGTH).i64(a.timeMs).finish();
}

export function decodeAuthResponse(bytes: Uint8Array): AuthResponse {
  const rd = readHeader(bytes, 'AuthResponse');
  const meterId = rd.str8('meterId');
  assertMeterId(meterId);
  const a = { meterId, nonce: rd.fixed(NONCE_LENGTH, 'nonce'), timeMs: rd.i64('timeMs') };
  rd.end();
  return a;
}

export interface AuthResult {
  meterId: string;
  passed: boolean;
  /** "ok" or why it failed, e.g. "bad-signature", "expired-challenge", "unknown-meter". */
  reason: string;
  timeMs: bigint;
}

export function encodeAuthResult(a: AuthResult): Uint8Array {
  assertMeterId(a.meterId);
  return writeHeader('AuthResult').str8(a.meterId).u8(a.passed ? 1 : 0).str8(a.reason).i64(a.timeMs).finish();
}

export function decodeAuthResult(bytes: Uint8Array): AuthResult {
  const rd = readHeader(bytes, 'AuthResult');
  const meterId = rd.str8('meterId');
  assertMeterId(meterId);
  const passed = rd.u8('passed');
  if (passed > 1) throw new ProtocolError('BAD_RECORD', 'AuthResult.passed must be 0 or 1');
  const a = { meterId, passed: passed === 1, reason: rd.str8('reason'), timeMs: rd.i64('timeMs') };
  rd.end();
  return a;
}
