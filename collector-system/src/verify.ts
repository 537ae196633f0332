// Checks on interface 2 payloads (docs/protocol.md §8): pure functions over hostile bytes that either return
// what was proven or throw CollectorError with the code the meter is told.
import type { KeyObject } from 'node:crypto';
import {
  anchorBytesOfReading,
  assertAcceptablePublicKey,
  bytesEqual,
  decodeDelivery,
  decodeIdentityCertificate,
  decodeKeyAnnouncement,
  decodeKeyBinding,
  keyId,
  METER_ID_PATTERN,
  toHex,
  verifyRecordNative,
  type Delivery,
  type Reading,
} from '@meterseal/protocol';
import { CollectorError } from './errors.js';
import type { SessionKeyRecord } from './store.js';

/** The last topic level, which must be a valid meter id (§2.2: no '/', '+', '#'). */
export function meterIdOfTopic(topic: string, prefix: string): string {
  const id = topic.startsWith(prefix) ? topic.slice(prefix.length) : '';
  if (!METER_ID_PATTERN.test(id)) throw new CollectorError('MALFORMED', 'the topic does not end in a valid meter id');
  return id;
}

function decode<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (cause) {
    throw new CollectorError('MALFORMED', `not a canonical ${what}`, { cause });
  }
}

/**
 * KeyAnnouncement (§8): the certificate must be signed by the trusted ledger key, the binding by the
 * certified identity key and name it, both keys acceptable (§2.3), and every meter id the same.
 */
export function verifyKeyAnnouncement(
  payload: Uint8Array,
  topicMeterId: string,
  ledgerKey: KeyObject,
  receivedAt: string,
): SessionKeyRecord {
  const ann = decode('KeyAnnouncement', () => decodeKeyAnnouncement(payload));
  const cert = decode('IdentityCertificate', () => decodeIdentityCertificate(ann.certificate));
  const binding = decode('KeyBinding', () => decodeKeyBinding(ann.binding));
  if (cert.meterId !== topicMeterId || binding.meterId !== topicMeterId) {
    throw new CollectorError('TOPIC_MISMATCH', 'the certificate, the binding and the topic must name the same meter');
  }
  if (!verifyRecordNative(ann.certificate, ann.certificateSignature, ledgerKey)) {
    throw new CollectorError('BAD_CERTIFICATE', 'the identity certificate is not signed by the trusted ledger key');
  }
  try {
    assertAcceptablePublicKey(cert.identityPublicKey);
    assertAcceptablePublicKey(binding.sessionPublicKey);
  } catch (cause) {
    throw new CollectorError('BAD_KEY', 'a certified or bound public key is not acceptable', { cause });
  }
  if (!bytesEqual(binding.identityKeyId, keyId(cert.identityPublicKey))) {
    throw new CollectorError('BAD_BINDING', 'the binding names another identity key than the certified one');
  }
  if (!verifyRecordNative(ann.binding, ann.bindingSignature, cert.identityPublicKey)) {
    throw new CollectorError('BAD_BINDING', 'the key binding is not signed by the certified identity key');
  }
  return {
    meterId: topicMeterId,
    keyId: keyId(binding.sessionPublicKey),
    sessionPublicKey: binding.sessionPublicKey,
    identityPublicKey: cert.identityPublicKey,
    firstSeq: binding.firstSeq,
    createdAtMs: binding.createdAtMs,
    announcement: payload,
    receivedAt,
  };
}

/** The key id an announcement's binding names (its `ref` in responses), or "" if it cannot be read. */
export function announcedKeyIdHex(payload: Uint8Array): string {
  try {
    return toHex(keyId(decodeKeyBinding(decodeKeyAnnouncement(payload).binding).sessionPublicKey));
  } catch {
    return '';
  }
}

export type DecodedDelivery = Delivery & { decoded: Reading };

/** Decodes a Delivery (§8) and checks that the topic names the reading's meter. */
export function parseDelivery(payload: Uint8Array, topicMeterId: string): DecodedDelivery {
  const delivery = decode('Delivery', () => decodeDelivery(payload));
  if (delivery.decoded.meterId !== topicMeterId) {
    throw new CollectorError('TOPIC_MISMATCH', `the reading is for meter ${delivery.decoded.meterId}, the topic for ${topicMeterId}`);
  }
  return delivery;
}

/**
 * The binding of `key` covers seq from its firstSeq until the meter's next binding (§7); `next` is the
 * smallest firstSeq above it among the meter's known keys, if any.
 */
export function assertKeyCoversSeq(key: SessionKeyRecord, seq: bigint, next: bigint | null): void {
  if (seq < key.firstSeq || (next !== null && seq >= next)) {
    throw new CollectorError(
      'KEY_NOT_VALID_FOR_SEQ',
      `session key ${toHex(key.keyId)} covers seq ${key.firstSeq}${next === null ? ' onwards' : `..${next - 1n}`}, not ${seq}`,
    );
  }
}

/** The Delivery's signature must verify over the anchor rebuilt from the delivered reading (§4, §8). */
export function assertDeliverySignature(delivery: DecodedDelivery, sessionKey: KeyObject | Uint8Array): void {
  const anchor = anchorBytesOfReading(delivery.reading, delivery.decoded, delivery.keyId);
  if (!verifyRecordNative(anchor, delivery.signature, sessionKey)) {
    throw new CollectorError('BAD_SIGNATURE', 'the signature does not verify over the anchor of the delivered reading');
  }
}
