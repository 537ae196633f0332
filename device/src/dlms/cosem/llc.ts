// The LLC sub-layer of the HDLC-based profile (IEC 62056-46 §5.3; DLMS UA Green Book §8.4.3 "LLC"): every
// information field carries LLC header destination LSAP | source LSAP | LLC quality before the APDU.
//   client → server: E6 E6 00     server → client: E6 E7 00   (LSAP 0xE6; the LSB of the source LSAP is
//   the command/response bit; LLC quality is reserved, 0x00)
import { DlmsError } from '../errors.js';

export const LLC_REQUEST = Object.freeze([0xe6, 0xe6, 0x00] as const);
export const LLC_RESPONSE = Object.freeze([0xe6, 0xe7, 0x00] as const);

/** Prefixes an APDU with the request LLC header. */
export function addLlc(apdu: Uint8Array): Uint8Array {
  const out = new Uint8Array(apdu.length + 3);
  out.set(LLC_REQUEST);
  out.set(apdu, 3);
  return out;
}

/** Checks and strips the response LLC header; throws LLC if it is missing or wrong. */
export function stripLlc(info: Uint8Array): Uint8Array {
  if (info.length < 3 || info[0] !== LLC_RESPONSE[0] || info[1] !== LLC_RESPONSE[1] || info[2] !== LLC_RESPONSE[2]) {
    const head = Buffer.from(info.subarray(0, 3)).toString('hex');
    throw new DlmsError('LLC', `the answer does not start with the LLC response header e6e700 (got ${head || 'nothing'})`);
  }
  return info.subarray(3);
}
