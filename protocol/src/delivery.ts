// Interface 2 payloads (docs/protocol.md §8): what the collection system receives. A Delivery carries the
// full reading, its salt and the SAME signature the ledger got over the anchor, so the collector checks
// the reading against the meter's key and later against the ledger's hash.
import { readHeader, writeHeader } from './header.js';
import { ProtocolError } from './errors.js';
import { KEY_ID_LENGTH, SIGNATURE_LENGTH } from './ed25519.js';
import { decodeReading, readingHash, type Reading } from './reading.js';
import { encodeAnchor, type Anchor } from './anchor.js';

export interface Delivery {
  keyId: Uint8Array;
  /** Canonical reading bytes, exactly as the meter encoded them. */
  reading: Uint8Array;
  /** The meter's signature over the anchor of this reading. */
  signature: Uint8Array;
  /**
   * §12.2 optional trailer: the id of the gateway that holds this meter's keys and signed on its behalf. Absent
   * (no trailer bytes) when the meter's own agent signed. Not covered by the signature: a declaration only.
   */
  signer?: string;
}

/** §12.2: tag byte of the optional signer trailer after the signature. */
const SIGNER_TRAILER_TAG = 0x01;

export function encodeDelivery(d: Delivery): Uint8Array {
  const w = writeHeader('Delivery').fixed(d.keyId, KEY_ID_LENGTH).bytes16(d.reading).fixed(d.signature, SIGNATURE_LENGTH);
  if (d.signer !== undefined) w.u8(SIGNER_TRAILER_TAG).str8(d.signer); // §12.2
  return w.finish();
}

/** A Delivery's frame (§8): whatever record it carries — a reading, a gap (§12), a correction (§14) — undecoded. */
export interface DeliveryFrame {
  keyId: Uint8Array;
  /** The carried record's bytes exactly as signed. */
  record: Uint8Array;
  signature: Uint8Array;
  /** §12.2 signer trailer (a gateway that holds the meter's keys), when present. */
  signer?: string;
}

/**
 * Pure parser of the Delivery frame (§8): type, version, keyId[8], u16 length, record, signature[64], and the
 * optional §12.2 signer trailer. Throws ProtocolError. The record and the signature are not checked here.
 */
export function decodeDeliveryFrame(bytes: Uint8Array): DeliveryFrame {
  const rd = readHeader(bytes, 'Delivery');
  const keyId = rd.fixed(KEY_ID_LENGTH, 'keyId');
  const record = rd.bytes16('record');
  const signature = rd.fixed(SIGNATURE_LENGTH, 'signature');
  let signer: string | undefined;
  if (bytes.length > 2 + KEY_ID_LENGTH + 2 + record.length + SIGNATURE_LENGTH) {
    const tag = rd.u8('trailer tag'); // §12.2: the only trailer is the signer
    if (tag !== SIGNER_TRAILER_TAG) throw new ProtocolError('BAD_DELIVERY', `unknown Delivery trailer tag 0x${tag.toString(16)}`);
    signer = rd.str8('signer');
  }
  rd.end();
  return { keyId, record, signature, ...(signer !== undefined ? { signer } : {}) };
}

export function decodeDelivery(bytes: Uint8Array): Delivery & { decoded: Reading } {
  const { keyId, record: reading, signature, signer } = decodeDeliveryFrame(bytes);
  return { keyId, reading, signature, ...(signer !== undefined ? { signer } : {}), decoded: decodeReading(reading) };
}

/** The anchor a reading implies: what the signature in a Delivery must verify over. */
export function anchorOfReading(encodedReading: Uint8Array, reading: Reading, keyId: Uint8Array): Anchor {
  return { meterId: reading.meterId, seq: reading.seq, keyId, readingHash: readingHash(encodedReading) };
}

export function anchorBytesOfReading(encodedReading: Uint8Array, reading: Reading, keyId: Uint8Array): Uint8Array {
  return encodeAnchor(anchorOfReading(encodedReading, reading, keyId));
}

/**
 * Sent once per session key on interface 2: the ledger's certificate of the meter's identity key and the
 * meter's binding of its session key, each with its signature, so the collector can verify readings
 * while it is cut off from the ledger.
 */
export interface KeyAnnouncement {
  certificate: Uint8Array;
  certificateSignature: Uint8Array;
  binding: Uint8Array;
  bindingSignature: Uint8Array;
}

export function encodeKeyAnnouncement(k: KeyAnnouncement): Uint8Array {
  return writeHeader('KeyAnnouncement')
    .bytes16(k.certificate).fixed(k.certificateSignature, SIGNATURE_LENGTH)
    .bytes16(k.binding).fixed(k.bindingSignature, SIGNATURE_LENGTH)
    .finish();
}

export function decodeKeyAnnouncement(bytes: Uint8Array): KeyAnnouncement {
  const rd = readHeader(bytes, 'KeyAnnouncement');
  const k = {
    certificate: rd.bytes16('certificate'),
    certificateSignature: rd.fixed(SIGNATURE_LENGTH, 'certificateSignature'),
    binding: rd.bytes16('binding'),
    bindingSignature: rd.fixed(SIGNATURE_LENGTH, 'bindingSignature'),
  };
  rd.end();
  return k;
}
