// Technician credentials and console authorisations (issue "Identity, provisioning over USB serial").
// Both are canonical records (docs/protocol.md §2.1: type byte, version byte, big-endian fields, no
// trailing bytes) signed per §2.3, so the agent can check them offline with only the utility's public key.
//
//   TechnicianCredential (0x20), signed by the utility key:
//     technicianId str8 · technicianPublicKey fixed(32) · scopeCount u8 · scope entry* ·
//     notBeforeMs i64 · notAfterMs i64 · issuerKeyId fixed(8)
//     scope entry: kind u8 (0x00 any meter '*', 0x01 meter id, 0x02 site id) · id str8 (empty for 0x00)
//   ConsoleAuthorisation (0x21), signed by the technician key: nonce fixed(32) · commandLine bytes16 (UTF-8)
import { Reader, Writer } from './codec.js';
import { ProtocolError } from './errors.js';
import { RecordType, VERSION_1 } from './record-types.js';
import { assertAcceptablePublicKey, keyId, KEY_ID_LENGTH, PUBLIC_KEY_LENGTH } from './ed25519.js';
import { assertMeterId } from './meter-id.js';
import { bytesEqual, utf8 } from './bytes.js';
import { signRecord, splitSigned, verifyRecord, encodeSigned } from './signed.js';

export const TECHNICIAN_CREDENTIAL_TYPE = RecordType.TechnicianCredential;
export const CONSOLE_AUTHORISATION_TYPE = RecordType.ConsoleAuthorisation;
export const CONSOLE_NONCE_LENGTH = 32;
export const MAX_COMMAND_LINE_BYTES = 4096;
const MAX_SCOPE_ENTRIES = 64;

/** '*' (every meter), a meter id, or a site id. Ids follow the meter-id alphabet (§2.2). */
export type ScopeEntry = { kind: 'any' } | { kind: 'meter'; id: string } | { kind: 'site'; id: string };
const SCOPE_KIND = { any: 0x00, meter: 0x01, site: 0x02 } as const;

export interface TechnicianCredential {
  technicianId: string;
  technicianPublicKey: Uint8Array;
  scope: ScopeEntry[];
  notBeforeMs: bigint;
  notAfterMs: bigint;
  issuerKeyId: Uint8Array;
}

function header(type: number): Writer {
  return new Writer().u8(type).u8(VERSION_1);
}

function readHeaderByte(bytes: Uint8Array, type: number, what: string): Reader {
  const rd = new Reader(bytes, what);
  const t = rd.u8('type');
  if (t !== type) throw new ProtocolError('WRONG_TYPE', `expected a ${what} record, got type 0x${t.toString(16)}`);
  const v = rd.u8('version');
  if (v !== VERSION_1) throw new ProtocolError('BAD_VERSION', `unsupported ${what} version ${v}`);
  return rd;
}

function checkScope(scope: ScopeEntry[]): void {
  if (scope.length === 0 || scope.length > MAX_SCOPE_ENTRIES) {
    throw new ProtocolError('BAD_SCOPE', `scope must have 1..${MAX_SCOPE_ENTRIES} entries`);
  }
  const seen = new Set<string>();
  for (const e of scope) {
    if (e.kind === 'any' && scope.length !== 1) throw new ProtocolError('BAD_SCOPE', "'*' must be the only scope entry");
    if (e.kind !== 'any') assertMeterId(e.id); // site ids share the meter-id alphabet
    const k = e.kind === 'any' ? '*' : `${e.kind}:${e.id}`;
    if (seen.has(k)) throw new ProtocolError('BAD_SCOPE', `duplicate scope entry ${k}`); // one value, one encoding
    seen.add(k);
  }
}

export function encodeTechnicianCredential(c: TechnicianCredential): Uint8Array {
  assertMeterId(c.technicianId);
  checkScope(c.scope);
  if (c.notAfterMs < c.notBeforeMs) throw new ProtocolError('BAD_VALIDITY', 'notAfter is before notBefore');
  const w = header(TECHNICIAN_CREDENTIAL_TYPE).str8(c.technicianId).fixed(c.technicianPublicKey, PUBLIC_KEY_LENGTH).u8(c.scope.length);
  for (const e of c.scope) w.u8(SCOPE_KIND[e.kind]).str8(e.kind === 'any' ? '' : e.id);
  return w.i64(c.notBeforeMs).i64(c.notAfterMs).fixed(c.issuerKeyId, KEY_ID_LENGTH).finish();
}

export function decodeTechnicianCredential(bytes: Uint8Array): TechnicianCredential {
  const rd = readHeaderByte(bytes, TECHNICIAN_CREDENTIAL_TYPE, 'TechnicianCredential');
  const technicianId = rd.str8('technicianId');
  assertMeterId(technicianId);
  const technicianPublicKey = rd.fixed(PUBLIC_KEY_LENGTH, 'technicianPublicKey');
  const n = rd.u8('scopeCount');
  const scope: ScopeEntry[] = [];
  for (let i = 0; i < n; i++) {
    const kind = rd.u8('scope.kind');
    const id = rd.str8('scope.id');
    if (kind === SCOPE_KIND.any) {
      if (id !== '') throw new ProtocolError('BAD_SCOPE', "'*' scope entry carries an id");
      scope.push({ kind: 'any' });
    } else if (kind === SCOPE_KIND.meter) scope.push({ kind: 'meter', id });
    else if (kind === SCOPE_KIND.site) scope.push({ kind: 'site', id });
    else throw new ProtocolError('BAD_SCOPE', `unknown scope kind 0x${kind.toString(16)}`);
  }
  checkScope(scope);
  const notBeforeMs = rd.i64('notBeforeMs');
  const notAfterMs = rd.i64('notAfterMs');
  if (notAfterMs < notBeforeMs) throw new ProtocolError('BAD_VALIDITY', 'notAfter is before notBefore');
  const issuerKeyId = rd.fixed(KEY_ID_LENGTH, 'issuerKeyId');
  rd.end();
  return { technicianId, technicianPublicKey, scope, notBeforeMs, notAfterMs, issuerKeyId };
}

/** Utility side: the signed credential (record || signature, §2.3) to hand to the technician. */
export function issueTechnicianCredential(
  c: Omit<TechnicianCredential, 'issuerKeyId'>, utility: { secretKey: Uint8Array; publicKey: Uint8Array },
): Uint8Array {
  const record = encodeTechnicianCredential({ ...c, issuerKeyId: keyId(utility.publicKey) });
  return encodeSigned(record, signRecord(record, utility.secretKey));
}

/** Parses "*", "meter:ID", "site:ID" or a bare meter id (CLI and JSON convenience). */
export function parseScopeEntry(text: string): ScopeEntry {
  if (text === '*') return { kind: 'any' };
  if (text.startsWith('site:')) return { kind: 'site', id: text.slice(5) };
  if (text.startsWith('meter:')) return { kind: 'meter', id: text.slice(6) };
  return { kind: 'meter', id: text };
}

export function scopeCovers(scope: ScopeEntry[], target: { meterId?: string; siteId?: string }): boolean {
  return scope.some((e) =>
    e.kind === 'any' ||
    (e.kind === 'meter' && target.meterId !== undefined && e.id === target.meterId) ||
    (e.kind === 'site' && target.siteId !== undefined && e.id === target.siteId));
}

export interface VerifyCredentialOptions {
  /** The utility public keys the agent trusts to issue credentials. */
  trustedIssuers: Uint8Array[];
  /** Injectable clock, UTC epoch ms. */
  nowMs: () => number | bigint;
  /** When given, the credential's scope must cover it. */
  target?: { meterId?: string; siteId?: string };
}

/**
 * Checks a signed credential offline: issuer known, signature (strict RFC 8032, §2.3), validity window
 * (inclusive) and, when asked, scope. Throws ProtocolError UNKNOWN_ISSUER, BAD_SIGNATURE, NOT_YET_VALID,
 * EXPIRED, OUT_OF_SCOPE, BAD_KEY or a decoding code.
 */
export function verifyTechnicianCredential(signed: Uint8Array, opts: VerifyCredentialOptions): TechnicianCredential {
  const { record, signature } = splitSigned(signed);
  const cred = decodeTechnicianCredential(record);
  const issuer = opts.trustedIssuers.find((k) => bytesEqual(keyId(k), cred.issuerKeyId));
  if (!issuer) throw new ProtocolError('UNKNOWN_ISSUER', 'credential issued by a key this meter does not trust');
  if (!verifyRecord(record, signature, issuer)) throw new ProtocolError('BAD_SIGNATURE', 'credential signature does not verify');
  assertAcceptablePublicKey(cred.technicianPublicKey);
  const now = BigInt(opts.nowMs());
  if (now < cred.notBeforeMs) throw new ProtocolError('NOT_YET_VALID', `credential valid from ${new Date(Number(cred.notBeforeMs)).toISOString()}`);
  if (now > cred.notAfterMs) throw new ProtocolError('EXPIRED', `credential expired at ${new Date(Number(cred.notAfterMs)).toISOString()}`);
  if (opts.target && !scopeCovers(cred.scope, opts.target)) {
    throw new ProtocolError('OUT_OF_SCOPE', `credential of ${cred.technicianId} does not cover meter ${opts.target.meterId ?? '(unset)'}`);
  }
  return cred;
}

export function encodeConsoleAuthorisation(nonce: Uint8Array, commandLine: string): Uint8Array {
  const line = utf8.encode(commandLine);
  if (line.length > MAX_COMMAND_LINE_BYTES) throw new ProtocolError('RANGE', 'command line too long');
  return header(CONSOLE_AUTHORISATION_TYPE).fixed(nonce, CONSOLE_NONCE_LENGTH).bytes16(line).finish();
}

/** Technician side: the signature authorising `commandLine` against the agent's nonce. */
export function signConsoleCommand(nonce: Uint8Array, commandLine: string, technicianSecretKey: Uint8Array): Uint8Array {
  return signRecord(encodeConsoleAuthorisation(nonce, commandLine), technicianSecretKey);
}

/** Agent side. Never throws for a bad signature: returns false. */
export function verifyConsoleCommand(nonce: Uint8Array, commandLine: string, signature: Uint8Array, technicianPublicKey: Uint8Array): boolean {
  let record: Uint8Array;
  try {
    record = encodeConsoleAuthorisation(nonce, commandLine);
  } catch {
    return false;
  }
  return verifyRecord(record, signature, technicianPublicKey);
}
