// OBIS codes (IEC 62056-6-1 §4: six value groups A..F, each 0..255), the COSEM logical_name: an
// OCTET STRING of size 6 (IEC 62056-6-2 §4.1.5, logical_name).
import { DlmsError } from '../errors.js';

export type ObisInput = string | Uint8Array | readonly number[];

/**
 * The six octets of an OBIS code, from "1.0.1.8.0.255", "1-0:1.8.0*255", "1-0:1.8.0.255", or five groups
 * ("1-0:1.8.0", F = 255 as IEC 62056-6-1 allows to omit it), or from six numbers or bytes.
 */
export function obis(code: ObisInput): Uint8Array {
  let parts: number[];
  if (typeof code === 'string') {
    const groups = code.trim().split(/[.\-:*]/);
    if (groups.length === 5) groups.push('255');
    parts = groups.map((g) => (/^\d{1,3}$/.test(g) ? Number(g) : NaN));
  } else parts = Array.from(code);
  if (parts.length !== 6 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new DlmsError('VALUE', `not an OBIS code: ${typeof code === 'string' ? JSON.stringify(code) : `[${Array.from(code).join(',')}]`}`);
  }
  return Uint8Array.from(parts);
}

/** "A-B:C.D.E*F", the reduced ID code display of IEC 62056-6-1 §4. */
export function formatObis(code: Uint8Array): string {
  const [a, b, c, d, e, f] = obis(code);
  return `${a}-${b}:${c}.${d}.${e}*${f}`;
}
