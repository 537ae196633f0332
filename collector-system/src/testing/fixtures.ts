// Test material made with @meterseal/protocol: a stand-in ledger key, meters with certified identity keys
// and bound session keys, readings and their interface 2 payloads. Not exported by the package.
import { randomBytes } from 'node:crypto';
import {
  ClockSync,
  encodeDelivery,
  encodeIdentityCertificate,
  encodeKeyAnnouncement,
  encodeKeyBinding,
  encodeReading,
  encodeVerifierKey,
  generateKeyPair,
  keyId,
  noteSigner,
  readingHash,
  signRecord,
  anchorBytesOfReading,
  type KeyPair,
  type NoteSigner,
  type Reading,
} from '@meterseal/protocol';

export interface TestLedgerKey {
  keys: KeyPair;
  /** Also the note key name, as the ledger does it. */
  origin: string;
  signer: NoteSigner;
  vkey: string;
  publicKeyHex: string;
}

export function makeLedgerKey(origin = 'ledger.test/meterseal'): TestLedgerKey {
  const keys = generateKeyPair();
  return {
    keys,
    origin,
    signer: noteSigner(origin, keys.secretKey),
    vkey: encodeVerifierKey(origin, keys.publicKey),
    publicKeyHex: Buffer.from(keys.publicKey).toString('hex'),
  };
}

export interface TestMeter {
  meterId: string;
  identity: KeyPair;
  session: KeyPair;
  keyId: Uint8Array;
  firstSeq: bigint;
  /** The KeyAnnouncement payload (certificate signed by `certifiedBy`, binding by the identity key). */
  announcement: Uint8Array;
}

/** A meter whose identity key `certifiedBy` certified, with a session key bound from `firstSeq`. */
export function makeMeter(meterId: string, certifiedBy: TestLedgerKey, options: { firstSeq?: bigint; identity?: KeyPair } = {}): TestMeter {
  const identity = options.identity ?? generateKeyPair();
  const session = generateKeyPair();
  const firstSeq = options.firstSeq ?? 0n;
  const certificate = encodeIdentityCertificate({
    meterId, identityPublicKey: identity.publicKey, logOrigin: certifiedBy.origin, registrationIndex: 0n, issuedAtMs: 1_795_262_400_000n,
  });
  const binding = encodeKeyBinding({
    meterId, identityKeyId: keyId(identity.publicKey), sessionPublicKey: session.publicKey, firstSeq, createdAtMs: 1_795_262_400_000n,
  });
  const announcement = encodeKeyAnnouncement({
    certificate,
    certificateSignature: signRecord(certificate, certifiedBy.keys.secretKey),
    binding,
    bindingSignature: signRecord(binding, identity.secretKey),
  });
  return { meterId, identity, session, keyId: keyId(session.publicKey), firstSeq, announcement };
}

let saltPool = new Uint8Array(0);
let saltAt = 0;
/** 16 random bytes, cut from a pool filled 64 KiB at a time (one CSPRNG call per 4096 salts: benches make millions). */
function freshSalt(): Uint8Array {
  if (saltAt + 16 > saltPool.length) {
    saltPool = new Uint8Array(randomBytes(65_536));
    saltAt = 0;
  }
  saltAt += 16;
  return saltPool.slice(saltAt - 16, saltAt);
}

export function makeReading(meterId: string, seq: bigint, energyWh = 1_000_000n + (seq % 1_000_000n) * 7n): Reading {
  const t = 1_795_262_400_000n + (seq % 1_000_000_000n) * 1000n;
  return {
    meterId,
    seq,
    meterTimeMs: seq % 2n === 0n ? t - 150n : null,
    // Reading v2: even readings carry the meter's own identity and clock detail, odd ones none of it.
    meterIdentity: seq % 2n === 0n ? `SN-${meterId}` : null,
    meterClockDeviationMin: seq % 2n === 0n ? -60 : null,
    meterClockStatus: seq % 2n === 0n ? 0x80 : null,
    agentTimeMs: t,
    clockSync: ClockSync.Synchronised,
    status: seq % 2n === 0n ? 0 : 1,
    registers: [
      { obis: '1.0.1.8.0.255', value: energyWh, scaler: 0, unit: 'Wh', raw: new Uint8Array([0x41, 0x45, 0x85, 0x1f]) },
      { obis: '1.0.32.7.0.255', value: 23050n, scaler: -2, unit: 'V', raw: new Uint8Array([0x43, 0x66, 0x80, 0x00]) },
    ],
    salt: freshSalt(),
  };
}

export interface SignedDelivery {
  reading: Reading;
  readingBytes: Uint8Array;
  hash: Uint8Array;
  signature: Uint8Array;
  /** The Delivery payload for meterseal/v1/collector/reading/<meterId>. */
  payload: Uint8Array;
}

/**
 * Signs `reading` with the meter's session key, as the agent does (docs/protocol.md §4, §8). `sign: false`
 * leaves a zero signature, for bulk data in tests that never verify (noble signs ~2000 readings a second).
 */
export function deliver(meter: TestMeter, reading: Reading, { sign = true }: { sign?: boolean } = {}): SignedDelivery {
  const readingBytes = encodeReading(reading);
  const signature = sign
    ? signRecord(anchorBytesOfReading(readingBytes, reading, meter.keyId), meter.session.secretKey)
    : new Uint8Array(64);
  return {
    reading,
    readingBytes,
    hash: readingHash(readingBytes),
    signature,
    payload: encodeDelivery({ keyId: meter.keyId, reading: readingBytes, signature }),
  };
}
