// Registration and identity certificates (docs/protocol.md §5; seed 001 step 1, done better: the meter
// makes its identity key itself and the private half never leaves it; the ledger certifies the public half).
import { assertMeterId } from './meter-id.js';
import { readHeader, writeHeader } from './header.js';
import { sha256 } from './hash.js';
import { utf8 } from './bytes.js';
import { ProtocolError } from './errors.js';

/** Sent by the meter, self-signed with its identity key (proof of possession). */
export interface RegistrationRequest {
  meterId: string;
  customerAccount: string;
  identityPublicKey: Uint8Array;
  firmwareHash: Uint8Array;
  timeMs: bigint;
  /**
   * Optional (issue 5 item 9): a DER PKCS#10 request (RFC 2986) for the meter's TLS client certificate, made
   * with a P-256 key that never leaves the meter. Appended as bytes16 after timeMs, so it is covered by the
   * identity self-signature; absent, the encoding is exactly the original one.
   */
  tlsCsr?: Uint8Array;
}

export function encodeRegistrationRequest(r: RegistrationRequest): Uint8Array {
  assertMeterId(r.meterId);
  const w = writeHeader('RegistrationRequest')
    .str8(r.meterId).str8(r.customerAccount).fixed(r.identityPublicKey, 32).fixed(r.firmwareHash, 32).i64(r.timeMs);
  if (r.tlsCsr !== undefined) {
    if (r.tlsCsr.length === 0) throw new ProtocolError('BAD_VALUE', 'tlsCsr must not be empty (omit it instead)');
    w.bytes16(r.tlsCsr);
  }
  return w.finish();
}

export function decodeRegistrationRequest(bytes: Uint8Array): RegistrationRequest {
  const rd = readHeader(bytes, 'RegistrationRequest');
  const meterId = rd.str8('meterId');
  assertMeterId(meterId);
  const r = {
    meterId,
    customerAccount: rd.str8('customerAccount'),
    identityPublicKey: rd.fixed(32, 'identityPublicKey'),
    firmwareHash: rd.fixed(32, 'firmwareHash'),
    timeMs: rd.i64('timeMs'),
  };
  if (rd.remaining > 0) {
    const tlsCsr = rd.bytes16('tlsCsr');
    if (tlsCsr.length === 0) throw new ProtocolError('BAD_VALUE', 'RegistrationRequest: tlsCsr present but empty (not canonical)');
    rd.end();
    return { ...r, tlsCsr };
  }
  rd.end();
  return r;
}

/**
 * The log entry for a registration. The customer account appears only as a salted commitment
 * SHA-256("MeterSeal-v1 account\0" || salt || account), so the log holds no personal data.
 */
export interface Registration {
  meterId: string;
  accountCommitment: Uint8Array;
  identityPublicKey: Uint8Array;
  firmwareHash: Uint8Array;
  timeMs: bigint;
}

export function accountCommitment(salt: Uint8Array, customerAccount: string): Uint8Array {
  return sha256(utf8.encode('MeterSeal-v1 account\0'), salt, utf8.encode(customerAccount));
}

export function encodeRegistration(r: Registration): Uint8Array {
  assertMeterId(r.meterId);
  return writeHeader('Registration')
    .str8(r.meterId).fixed(r.accountCommitment, 32).fixed(r.identityPublicKey, 32).fixed(r.firmwareHash, 32).i64(r.timeMs)
    .finish();
}

export function decodeRegistration(bytes: Uint8Array): Registration {
  const rd = readHeader(bytes, 'Registration');
  const meterId = rd.str8('meterId');
  assertMeterId(meterId);
  const r = {
    meterId,
    accountCommitment: rd.fixed(32, 'accountCommitment'),
    identityPublicKey: rd.fixed(32, 'identityPublicKey'),
    firmwareHash: rd.fixed(32, 'firmwareHash'),
    timeMs: rd.i64('timeMs'),
  };
  rd.end();
  return r;
}

/** Signed by the ledger's key: "this identity key belongs to this meter, registered at log index N". */
export interface IdentityCertificate {
  meterId: string;
  identityPublicKey: Uint8Array;
  logOrigin: string;
  registrationIndex: bigint;
  issuedAtMs: bigint;
}

export function encodeIdentityCertificate(c: IdentityCertificate): Uint8Array {
  assertMeterId(c.meterId);
  return writeHeader('IdentityCertificate')
    .str8(c.meterId).fixed(c.identityPublicKey, 32).str8(c.logOrigin).u64(c.registrationIndex).i64(c.issuedAtMs)
    .finish();
}

export function decodeIdentityCertificate(bytes: Uint8Array): IdentityCertificate {
  const rd = readHeader(bytes, 'IdentityCertificate');
  const meterId = rd.str8('meterId');
  assertMeterId(meterId);
  const c = {
    meterId,
    identityPublicKey: rd.fixed(32, 'identityPublicKey'),
    logOrigin: rd.str8('logOrigin'),
    registrationIndex: rd.u64('registrationIndex'),
    issuedAtMs: rd.i64('issuedAtMs'),
  };
  rd.end();
  return c;
}
