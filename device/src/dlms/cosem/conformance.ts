// The xDLMS conformance block (IEC 62056-5-3 §8, Conformance ::= [APPLICATION 31] IMPLICIT BIT STRING
// (SIZE(24)); meaning of the bits in IEC 62056-5-3 §7.3.1 / Green Book "xDLMS conformance block"). Bit 0 is
// the most significant bit of the first octet. It travels BER-encoded inside the A-XDR InitiateRequest and
// InitiateResponse: 5F 1F 04 00 b0 b1 b2 (tag, length 4, no unused bits, 3 octets).
import { DlmsError } from '../errors.js';

export const CONFORMANCE_BITS = [
  'reserved-zero',
  'general-protection',
  'general-block-transfer',
  'read',
  'write',
  'unconfirmed-write',
  'delta-value-encoding',
  'reserved-seven',
  'attribute0-supported-with-set',
  'priority-mgmt-supported',
  'attribute0-supported-with-get',
  'block-transfer-with-get-or-read',
  'block-transfer-with-set-or-write',
  'block-transfer-with-action',
  'multiple-references',
  'information-report',
  'data-notification',
  'access',
  'parameterized-access',
  'get',
  'set',
  'selective-access',
  'event-notification',
  'action',
] as const;

export type ConformanceBit = (typeof CONFORMANCE_BITS)[number];

export const CONFORMANCE_TAG = 0x5f1f;

export function encodeConformance(bits: Iterable<ConformanceBit>): Uint8Array {
  let v = 0;
  for (const name of bits) {
    const i = CONFORMANCE_BITS.indexOf(name);
    if (i < 0) throw new DlmsError('VALUE', `unknown conformance bit ${String(name)}`);
    v |= 1 << (23 - i);
  }
  // BER: tag [APPLICATION 31] (two octets), length 4, 0 unused bits, 24 bits
  return Uint8Array.of(0x5f, 0x1f, 0x04, 0x00, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
}

/** Decodes the 7 octets at `offset`; returns the bits set, in bit order. */
export function decodeConformance(b: Uint8Array, offset = 0): ConformanceBit[] {
  if (b.length < offset + 7) throw new DlmsError('SHORT', 'conformance block cut short');
  if (b[offset] !== 0x5f || b[offset + 1] !== 0x1f || b[offset + 2] !== 0x04 || b[offset + 3] !== 0x00) {
    throw new DlmsError('APDU', 'conformance block is not 5F 1F 04 00 + 3 octets');
  }
  const v = (b[offset + 4]! << 16) | (b[offset + 5]! << 8) | b[offset + 6]!;
  return CONFORMANCE_BITS.filter((_, i) => (v & (1 << (23 - i))) !== 0);
}
