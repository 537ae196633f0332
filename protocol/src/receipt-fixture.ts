// Test fixture (not exported from the package): a complete, valid receipt scenario built in memory — a ledger
// key, witnesses, a meter with its certificate, binding and a reading anchored in an RFC 9162 tree — so that
// verify-receipt tests can tamper with one field at a time. The ledger service builds the same thing for real.
import { encodeAnchor } from './anchor.js';
import { encodeKeyBinding } from './binding.js';
import { signCheckpoint } from './checkpoint.js';
import { cosignatureSigner, encodeCosignatureVerifierKey } from './cosignature.js';
import { encodeDelivery } from './delivery.js';
import { generateKeyPair, keyId, type KeyPair } from './ed25519.js';
import { encodeIdentityCertificate } from './identity.js';
import { MemoryTree, inclusionProof, leafHash } from './merkle/index.js';
import { encodeVerifierKey, noteSigner } from './note.js';
import { buildReceipt, type Receipt } from './receipt.js';
import { encodeReading, readingHash, type Reading } from './reading.js';
import { encodeSigned, signRecord } from './signed.js';
import { utf8 } from './bytes.js';

export const FIXTURE_ORIGIN = 'meterseal.test/ledger';

export interface ReceiptFixture {
  ledger: KeyPair;
  identity: KeyPair;
  session: KeyPair;
  witnesses: KeyPair[];
  delivery: Uint8Array;
  receipt: Receipt;
  trust: { format: 'meterseal-trust/v1'; origin: string; ledgerVerifierKey: string; witnesses: string[]; quorum: number };
  signedAnchor: Uint8Array;
}

export interface FixtureOptions {
  seq?: bigint;
  firstSeq?: bigint;
  /** How many of the witnesses cosign (default all). */
  cosigners?: number;
  witnesses?: number;
  quorum?: number;
  /** Sign the reading with this key instead of the bound session key. */
  readingKey?: KeyPair;
  /** The checkpoint's origin line (default FIXTURE_ORIGIN; a period log's is "<origin>/<period>"); the note key keeps FIXTURE_ORIGIN's name. */
  checkpointOrigin?: string;
}

export function reading(meterId: string, seq: bigint): Reading {
  return {
    meterId, seq, meterTimeMs: null, meterIdentity: null, meterClockDeviationMin: null, meterClockStatus: null,
    agentTimeMs: 1_790_000_000_000n, clockSync: 1, status: 0,
    registers: [{ obis: '1.0.1.8.0.255', value: 123456n, scaler: 0, unit: 'Wh', raw: new Uint8Array([0, 1, 0xe2, 0x40]) }],
    salt: new Uint8Array(16).fill(9),
  } as unknown as Reading;
}

export function buildReceiptFixture(o: FixtureOptions = {}): ReceiptFixture {
  const meterId = 'MTR-1';
  const seq = o.seq ?? 5n;
  const firstSeq = o.firstSeq ?? 1n;
  const ledger = generateKeyPair();
  const identity = generateKeyPair();
  const session = generateKeyPair();
  const witnesses = Array.from({ length: o.witnesses ?? 2 }, () => generateKeyPair());
  const tree = new MemoryTree();
  const entries: Uint8Array[] = [];
  const add = (e: Uint8Array): bigint => {
    entries.push(e);
    return tree.append(leafHash(e));
  };
  add(utf8.encode('registration entry'));
  const certificate = encodeIdentityCertificate({ meterId, identityPublicKey: identity.publicKey, logOrigin: FIXTURE_ORIGIN, registrationIndex: 0n, issuedAtMs: 1n });
  const bindingRecord = encodeKeyBinding({ meterId, identityKeyId: keyId(identity.publicKey), sessionPublicKey: session.publicKey, firstSeq, createdAtMs: 2n });
  const bindingEntry = encodeSigned(bindingRecord, signRecord(bindingRecord, identity.secretKey));
  const bindingIndex = add(bindingEntry);
  add(utf8.encode('another entry'));
  const encoded = encodeReading(reading(meterId, seq));
  const anchor = encodeAnchor({ meterId, seq, keyId: keyId(session.publicKey), readingHash: readingHash(encoded) });
  const signature = signRecord(anchor, (o.readingKey ?? session).secretKey);
  const signedAnchor = encodeSigned(anchor, signature);
  const anchorIndex = add(signedAnchor);
  add(utf8.encode('a later entry'));
  const size = tree.size;
  const origin = o.checkpointOrigin ?? FIXTURE_ORIGIN;
  const body = `${origin}\n${size}\n${Buffer.from(tree.root(size)).toString('base64')}\n`;
  let note = signCheckpoint({ origin, size, root: tree.root(size), extensions: [] }, noteSigner(FIXTURE_ORIGIN, ledger.secretKey));
  witnesses.slice(0, o.cosigners ?? witnesses.length).forEach((w, i) => {
    note += cosignatureSigner(`witness.test/w${i}`, w.secretKey).signCosignature(body, 1_790_000_000n);
  });
  const receipt = buildReceipt({
    meterId, seq,
    anchorEntry: signedAnchor, anchorProof: { index: anchorIndex, proof: inclusionProof(tree, anchorIndex, size), checkpoint: note },
    bindingEntry, bindingProof: { index: bindingIndex, proof: inclusionProof(tree, bindingIndex, size), checkpoint: note },
    certificate, certificateSignature: signRecord(certificate, ledger.secretKey),
  });
  return {
    ledger, identity, session, witnesses, signedAnchor,
    delivery: encodeDelivery({ keyId: keyId(session.publicKey), reading: encoded, signature }),
    receipt,
    trust: {
      format: 'meterseal-trust/v1',
      origin: FIXTURE_ORIGIN,
      ledgerVerifierKey: encodeVerifierKey(FIXTURE_ORIGIN, ledger.publicKey),
      witnesses: witnesses.map((w, i) => encodeCosignatureVerifierKey(`witness.test/w${i}`, w.publicKey)),
      quorum: o.quorum ?? witnesses.length,
    },
  };
}
