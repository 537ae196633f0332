// Operator credentials (issue 5): the utility signs one for each operator, naming what the operator may do
// on the ledger. A canonical record (docs/protocol.md §2.1) signed per §2.3, checked offline with only the
// utility's public key, like a TechnicianCredential (technician.ts).
//
//   OperatorCredential (0x22), signed by the utility key:
//     operatorId str8 · operatorPublicKey fixed(32) · roles u8 (bit set, OPERATOR_ROLES) ·
//     notBeforeMs i64 · notAfterMs i64 · issuerKeyId fixed(8)
import { Reader, Writer } from './codec.js';
import { ProtocolError } from './errors.js';
import { RecordType, VERSION_1 } from './record-types.js';
import { assertAcceptablePublicKey, keyId, KEY_ID_LENGTH, PUBLIC_KEY_LENGTH } from './ed25519.js';
import { assertMeterId } from './meter-id.js';
import { bytesEqual } from './bytes.js';
import { encodeSigned, signRecord, splitSigned, verifyRecord } from './signed.js';
import { sha256 } from './hash.js';

export const OPERATOR_CREDENTIAL_TYPE = RecordType.OperatorCredential;

/** What an operator may do; a credential carries a set of them. */
export const OPERATOR_ROLES = { 'import-meters': 0x01, revoke: 0x02, 'approve-exchange': 0x04 } as const;
export type OperatorRole = keyof typeof OPERATOR_ROLES;
const ALL_ROLES = Object.values(OPERATOR_ROLES).reduce((a, b) => a | b, 0);

export interface OperatorCredential {
  operatorId: string;
  operatorPublicKey: Uint8Array;
  roles: OperatorRole[];
  notBeforeMs: bigint;
  notAfterMs: bigint;
  issuerKeyId: Uint8Array;
}

function roleBits(roles: OperatorRole[]): number {
  if (roles.length === 0) throw new ProtocolError('BAD_ROLES', 'an operator credential needs at least one role');
  let bits = 0;
  for (const r of roles) {
    const b = OPERATOR_ROLES[r];
    if (b === undefined) throw new ProtocolError('BAD_ROLES', `unknown operator role ${JSON.stringify(String(r).slice(0, 40))}`);
    bits |= b;
  }
  return bits;
}

export function encodeOperatorCredential(c: OperatorCredential): Uint8Array {
  assertMeterId(c.operatorId); // operator ids share the meter-id alphabet (§2.2)
  if (c.notAfterMs < c.notBeforeMs) throw new ProtocolError('BAD_VALIDITY', 'notAfter is before notBefore');
  return new Writer().u8(OPERATOR_CREDENTIAL_TYPE).u8(VERSION_1)
    .str8(c.operatorId).fixed(c.operatorPublicKey, PUBLIC_KEY_LENGTH).u8(roleBits(c.roles))
    .i64(c.notBeforeMs).i64(c.notAfterMs).fixed(c.issuerKeyId, KEY_ID_LENGTH).finish();
}

export function decodeOperatorCredential(bytes: Uint8Array): OperatorCredential {
  const rd = new Reader(bytes, 'OperatorCredential');
  const t = rd.u8('type');
  if (t !== OPERATOR_CREDENTIAL_TYPE) throw new ProtocolError('WRONG_TYPE', `expected an OperatorCredential record, got type 0x${t.toString(16)}`);
  const v = rd.u8('version');
  if (v !== VERSION_1) throw new ProtocolError('BAD_VERSION', `unsupported OperatorCredential version ${v}`);
  const operatorId = rd.str8('operatorId');
  assertMeterId(operatorId);
  const operatorPublicKey = rd.fixed(PUBLIC_KEY_LENGTH, 'operatorPublicKey');
  const bits = rd.u8('roles');
  if (bits === 0 || (bits & ~ALL_ROLES) !== 0) throw new ProtocolError('BAD_ROLES', `role bits 0x${bits.toString(16)} are empty or unknown`);
  const roles = (Object.keys(OPERATOR_ROLES) as OperatorRole[]).filter((r) => (bits & OPERATOR_ROLES[r]) !== 0);
  const notBeforeMs = rd.i64('notBeforeMs');
  const notAfterMs = rd.i64('notAfterMs');
  if (notAfterMs < notBeforeMs) throw new ProtocolError('BAD_VALIDITY', 'notAfter is before notBefore');
  const issuerKeyId = rd.fixed(KEY_ID_LENGTH, 'issuerKeyId');
  rd.end();
  return { operatorId, operatorPublicKey, roles, notBeforeMs, notAfterMs, issuerKeyId };
}

/** Utility side: the signed credential (record || signature, §2.3) to hand to the operator. */
export function issueOperatorCredential(
  c: Omit<OperatorCredential, 'issuerKeyId'>, utility: { secretKey: Uint8Array; publicKey: Uint8Array },
): Uint8Array {
  const record = encodeOperatorCredential({ ...c, issuerKeyId: keyId(utility.publicKey) });
  return encodeSigned(record, signRecord(record, utility.secretKey));
}

export interface VerifyOperatorOptions {
  trustedIssuers: Uint8Array[];
  nowMs: () => number | bigint;
  /** When given, the credential must carry this role. */
  role?: OperatorRole;
}

/**
 * Checks a signed operator credential offline: issuer known, signature (§2.3), validity window (inclusive),
 * role. Throws ProtocolError UNKNOWN_ISSUER, BAD_SIGNATURE, NOT_YET_VALID, EXPIRED, NOT_PERMITTED, BAD_KEY or a
 * decoding code.
 */
export function verifyOperatorCredential(signed: Uint8Array, opts: VerifyOperatorOptions): OperatorCredential {
  const { record, signature } = splitSigned(signed);
  const cred = decodeOperatorCredential(record);
  const issuer = opts.trustedIssuers.find((k) => bytesEqual(keyId(k), cred.issuerKeyId));
  if (!issuer) throw new ProtocolError('UNKNOWN_ISSUER', 'operator credential issued by a key the ledger does not trust');
  if (!verifyRecord(record, signature, issuer)) throw new ProtocolError('BAD_SIGNATURE', 'operator credential signature does not verify');
  assertAcceptablePublicKey(cred.operatorPublicKey);
  const now = BigInt(opts.nowMs());
  if (now < cred.notBeforeMs) throw new ProtocolError('NOT_YET_VALID', `operator credential valid from ${new Date(Number(cred.notBeforeMs)).toISOString()}`);
  if (now > cred.notAfterMs) throw new ProtocolError('EXPIRED', `operator credential expired at ${new Date(Number(cred.notAfterMs)).toISOString()}`);
  if (opts.role && !cred.roles.includes(opts.role)) {
    throw new ProtocolError('NOT_PERMITTED', `operator ${cred.operatorId} may not ${opts.role} (roles: ${cred.roles.join(', ')})`);
  }
  return cred;
}

/**
 * An operator action (Revocation, MeterExchangeApproval) is a record that embeds the operator's signed
 * credential and is itself signed by the operator key: the log entry verifies with the utility key alone.
 * Checks the credential (role, validity now), then the action's signature. Throws ProtocolError.
 */
export function verifyOperatorAction<T extends { operatorCredential: Uint8Array }>(
  signed: Uint8Array, decode: (record: Uint8Array) => T, opts: VerifyOperatorOptions & { role: OperatorRole },
): { action: T; credential: OperatorCredential; record: Uint8Array; signature: Uint8Array } {
  const { record, signature } = splitSigned(signed);
  const action = decode(record);
  const credential = verifyOperatorCredential(action.operatorCredential, opts);
  if (!verifyRecord(record, signature, credential.operatorPublicKey)) {
    throw new ProtocolError('BAD_SIGNATURE', `the ${opts.role} request is not signed by operator ${credential.operatorId}'s key`);
  }
  return { action, credential, record, signature };
}

/** Operator side: sign an action record with the operator key. */
export function signOperatorAction(record: Uint8Array, operatorSecretKey: Uint8Array): Uint8Array {
  return encodeSigned(record, signRecord(record, operatorSecretKey));
}

/** A short free-text reason: 1..255 UTF-8 bytes, no control characters. */
export function assertReason(reason: string): void {
  const n = new TextEncoder().encode(reason).length;
  if (n < 1 || n > 255) throw new ProtocolError('BAD_REASON', 'a reason must be 1..255 UTF-8 bytes');
  for (let i = 0; i < reason.length; i++) {
    const c = reason.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) throw new ProtocolError('BAD_REASON', 'a reason must not contain control characters');
  }
}

/**
 * A signed operator request that is not itself a log record (import-meters): the operator signs this
 * message over the operation, a time, a random nonce and the SHA-256 of the body. It starts with "M"
 * (0x4d), which is no record type (§2.1), so the signature cannot be taken for one of a record.
 */
export function operatorRequestMessage(op: string, timeMs: bigint, nonce: Uint8Array, bodySha256: Uint8Array): Uint8Array {
  if (nonce.length !== 16) throw new ProtocolError('RANGE', 'an operator request nonce is 16 bytes');
  if (bodySha256.length !== 32) throw new ProtocolError('RANGE', 'bodySha256 is 32 bytes');
  const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return new TextEncoder().encode(`MeterSeal operator request v1\n${op}\n${timeMs}\n${hex(nonce)}\n${hex(bodySha256)}\n`);
}

/** Operator side: the signature of an operator request (operatorRequestMessage) over `body`. */
export function signOperatorRequest(op: OperatorRole, timeMs: bigint, nonce: Uint8Array, body: Uint8Array, operatorSecretKey: Uint8Array): Uint8Array {
  return signRecord(operatorRequestMessage(op, timeMs, nonce, sha256(body)), operatorSecretKey);
}
